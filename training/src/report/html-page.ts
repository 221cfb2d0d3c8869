import { escapeHtml } from "./svg-charts.js";

/**
 * The self-contained page every report here is: inline CSS only, so it opens from an artifact store or an
 * e-mail without network access. `body` is trusted HTML built by the caller (escape what came from data).
 */
export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1160px; color: #222; }
h1 { font-size: 24px; } h3 { font-size: 16px; } h2 { font-size: 19px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
table { border-collapse: collapse; margin: 8px 0; } th, td { border: 1px solid #ccc; padding: 6px 12px; text-align: left; }
td { font-variant-numeric: tabular-nums; } thead th { background: #f3f3f3; }
.good { color: #1a7f37; font-weight: bold; } .bad { color: #b42318; font-weight: bold; } .muted { color: #666; }
.pair { display: flex; flex-wrap: wrap; gap: 16px; } svg { max-width: 100%; height: auto; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}
