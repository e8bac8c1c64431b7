// Type-aware lint; the layering rule keeps dependencies pointing one way (architecture.md).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import reactHooks from "eslint-plugin-react-hooks";
import jsxA11y from "eslint-plugin-jsx-a11y";

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
  { ignores: ["dist/**", "node_modules/**", "src/web/vite.config.mjs", "web/**", "guest/**"] },
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
  {
    // The web UI: typed by its own tsconfig (DOM, bundler resolution; the project service
    // finds src/web/tsconfig.json), React's hook rules (the compiler's checks included) and
    // accessibility rules for keyboard and screen-reader use.
    files: ["src/web/**/*.{ts,tsx}"],
    ...reactHooks.configs.flat["recommended-latest"],
    ...jsxA11y.flatConfigs.recommended,
    plugins: { ...reactHooks.configs.flat["recommended-latest"].plugins, ...jsxA11y.flatConfigs.recommended.plugins },
    rules: {
      ...reactHooks.configs.flat["recommended-latest"].rules,
      ...jsxA11y.flatConfigs.recommended.rules,
      "react-hooks/exhaustive-deps": "error",
      // A scrollable region must take focus to be scrolled by keyboard (WCAG 2.1.1).
      "jsx-a11y/no-noninteractive-tabindex": ["error", { tags: [], roles: ["tabpanel", "region"], allowExpressionValues: true }],
      // Radio cards put their text two elements deep (label > span > strong).
      "jsx-a11y/label-has-associated-control": ["error", { depth: 3 }],
    },
  },
  // The UI is a browser program: of the rest of src/ it may use only the API's wire types.
  ...[1, 2, 3, 4].map((depth) => ({
    files: [`src/web/${"*/".repeat(depth - 1)}*.{ts,tsx}`],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: ["core", "host", "daemon", "client", "cli", "testing"].map((l) => ({ group: [`${"../".repeat(depth)}${l}/**`], message: `web/ must not import src/${l}/ (it runs in the browser)` })) },
      ],
    },
  })),
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
