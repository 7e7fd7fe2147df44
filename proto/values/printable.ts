// Text that came from someone else (a peer's endpoint names, a frame's claimed origin, values read
// from etcd) printed on a terminal or written to a log: control characters, non-ASCII and the backslash
// are escaped so no such text can move the cursor, recolour the screen, or forge a log line.
const UNSAFE = /[^\x20-\x7e]|\\/g;

export function printable(text: string, maxLength = 256): string {
  const clipped = text.length > maxLength ? `${text.slice(0, maxLength)}...` : text;
  return clipped.replace(UNSAFE, (ch) => {
    if (ch === "\\") return "\\\\";
    const code = ch.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
  });
}
