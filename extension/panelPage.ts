// The page of a SeqLens webview panel, without VS Code's API, so the browser tests serve the very
// page (and CSP) the panels get. Nothing inline: the one script is the panel's bundle, allowed by its
// nonce, and no inline style is allowed (the panels set styles through the CSSOM: shadow-root
// stylesheets and element.style), so an injected style attribute or <style> element does nothing.

/** The panel's Content Security Policy: its own bundle by nonce, images, styles and fonts from its own files. */
export function panelCsp(cspSource: string, nonce: string): string {
  return [`default-src 'none'`, `img-src ${cspSource} data:`, `style-src ${cspSource}`, `font-src ${cspSource}`, `script-src 'nonce-${nonce}'`].join("; ");
}

export interface PanelPageParts {
  /** The webview's source for the CSP (webview.cspSource). */
  cspSource: string;
  /** A fresh random nonce (base64) for the bundle's script element. */
  nonce: string;
  /** The bundle's URL as the webview loads it. */
  script: string;
  /** The panel app's custom element. */
  element: string;
  title: string;
}

/** The panel's HTML: the CSP, the app's element and its bundle. */
export function panelPageHtml(p: PanelPageParts): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${panelCsp(p.cspSource, p.nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${p.title}</title>
</head>
<body>
<${p.element}></${p.element}>
<script type="module" nonce="${p.nonce}" src="${p.script}"></script>
</body>
</html>`;
}
