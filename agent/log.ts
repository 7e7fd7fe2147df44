// One line per event on stderr: time, level, message. journald and the lab's log files keep them.
export type LogLevel = "debug" | "info" | "warn" | "error";
export type Logger = (level: LogLevel, line: string) => void;

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function createLogger(minimum: LogLevel, write: (text: string) => void = (t) => process.stderr.write(t)): Logger {
  return (level, line) => {
    if (RANK[level] < RANK[minimum]) return;
    write(`${new Date().toISOString()} ${level.padEnd(5)} ${line}\n`);
  };
}
