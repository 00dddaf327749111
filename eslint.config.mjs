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
  {
    // The engine runs outside VS Code: it must never import the vscode API.
    files: ["engine/**/*.ts"],
    rules: { "no-restricted-imports": ["error", { paths: [{ name: "vscode", message: "engine/ runs in its own process and never imports vscode" }] }] },
  },
);
