// Bundles the card (src/, TypeScript + lit) into ONE file that the integration serves:
// custom_components/charge_zones/frontend/charge-zones-card.js (committed: users need no Node).
import { build } from "esbuild";
import { readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url)));
await build({
  entryPoints: [new URL("./src/charge-zones-card.ts", import.meta.url).pathname],
  outfile: new URL("../custom_components/charge_zones/frontend/charge-zones-card.js", import.meta.url)
    .pathname,
  bundle: true,
  format: "esm",
  target: "es2021",
  minify: true,
  legalComments: "none",
  banner: { js: `/* Charge Zones card ${pkg.version} (built from frontend/, see scripts/build-card) */` },
  define: { __CARD_VERSION__: JSON.stringify(pkg.version) },
  logLevel: "info",
});
