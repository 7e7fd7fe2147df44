// The topology page: one self-contained HTML document (inline style and script, nothing fetched from
// elsewhere), and the Content-Security-Policy that allows exactly its own inline script and style by
// hash and connections to its own origin only.
import { createHash } from "node:crypto";
import { PAGE_SCRIPT } from "./page-script.js";
import { PAGE_STYLE } from "./page-style.js";

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>weft topology</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<header>
<h1>weft topology</h1>
<p id="status" role="status" aria-live="polite" data-stream-state="connecting">connecting\u2026</p>
<p id="meta"></p>
</header>
<main>
<p id="traffic-note" class="note" role="note"></p>
<section aria-labelledby="hosts-title">
<h2 id="hosts-title">Hosts</h2>
<svg id="overview" class="overview" role="img" aria-label="hosts and the underlay links between them" hidden></svg>
<div id="hosts" class="hosts"></div>
</section>
<section aria-labelledby="trace-title">
<h2 id="trace-title">Trace</h2>
<div id="trace" data-trace-state="idle" aria-live="polite"><p>Click two endpoints: the first is the source, the second the destination.</p></div>
</section>
<section aria-labelledby="services-title">
<h2 id="services-title">Services</h2>
<div id="services" class="services"></div>
</section>
<section aria-labelledby="networks-title">
<h2 id="networks-title">Networks</h2>
<table id="networks"></table>
</section>
</main>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;

const sha256 = (text: string): string => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;

export const PAGE_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src ${sha256(PAGE_SCRIPT)}`,
  `style-src ${sha256(PAGE_STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");
