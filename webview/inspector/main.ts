// The Inspector webview's entry (browser, ESM bundle). Panels ask the extension for the slices
// they show; see engine/protocol.ts for the messages.
export {};
