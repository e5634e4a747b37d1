// Lint the TypeScript sources with the recommended rules; generated and installed trees are ignored.
import eslint from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "bin/", "plan-out/", "bench-out/", "lab-out/"] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // The mocha reporter is plain CommonJS run by mocha itself.
    files: ["tests/reporter.js"],
    languageOptions: { sourceType: "commonjs", globals: { require: "readonly", module: "writable", process: "readonly" } },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
);
