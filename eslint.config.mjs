import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "kernels/**", "node_modules/**", "test/dist/**", "scratch/**", "samples/models/**", "samples/workspace/**"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["bin/**/*.js"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  // The boundaries between the sides: they meet only in protocol/ (and the extension reaches the
  // engine through its client). Each rule names what a side may not import and why.
  {
    files: ["protocol/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [{ name: "vscode", message: "protocol/ is owned by no side: it never imports vscode" }],
          patterns: [{ group: ["**/engine/**", "**/extension/**", "**/webview/**"], message: "protocol/ is owned by no side: it imports only protocol/ and libraries" }],
        },
      ],
    },
  },
  {
    files: ["engine/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [{ name: "vscode", message: "engine/ runs in its own process and never imports vscode" }],
          patterns: [{ group: ["**/extension/**", "**/webview/**"], message: "engine/ imports only protocol/ and its own code" }],
        },
      ],
    },
  },
  {
    files: ["extension/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["**/webview/**"], message: "extension/ talks to the panels through protocol/ messages only" },
            { group: ["**/engine/**", "!**/engine/client"], message: "extension/ reaches the engine through engine/client and protocol/ only (the engine runs in its own process)" },
          ],
        },
      ],
    },
  },
  {
    files: ["webview/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [{ name: "vscode", message: "a webview runs in the browser: it talks to the host through webview/shared/connect" }],
          patterns: [{ group: ["**/engine/**", "**/extension/**", "node:*"], message: "webview/ imports only protocol/ and its own code" }],
        },
      ],
    },
  },
);
