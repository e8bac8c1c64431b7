// Type-aware lint; the layering rule keeps dependencies pointing one way (architecture.md).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const layer = (from, forbidden) => ({
  files: [`src/${from}/**/*.ts`],
  rules: {
    "no-restricted-imports": [
      "error",
      { patterns: forbidden.map((l) => ({ group: [`**/${l}/**`, `**/${l}/*`], message: `${from}/ must not import ${l}/ (layering)` })) },
    ],
  },
});

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "src/web/**", "web/**", "guest/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
  {
    // node:test's test()/describe() return promises the runner awaits.
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-floating-promises": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-return": "off",
    },
  },
  layer("api", ["core", "host", "daemon", "client", "cli", "testing"]),
  layer("core", ["host", "daemon", "client", "cli", "testing"]),
  layer("host", ["daemon", "client", "cli", "testing"]),
  layer("daemon", ["client", "cli", "testing"]),
  layer("client", ["core", "host", "daemon", "cli", "testing"]),
  layer("cli", ["testing"]),
  {
    files: ["src/core/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: ["node:fs", "node:child_process", "node:net", "fs", "child_process", "net", "node:fs/promises"].map((name) => ({ name, message: "core/ is pure" })),
          patterns: [{ group: ["**/host/**", "**/daemon/**", "**/client/**", "**/cli/**", "**/testing/**"], message: "core/ is pure (layering)" }],
        },
      ],
    },
  },
);
