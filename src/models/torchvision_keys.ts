/**
 * State-dict key maps from torchvision's names to tsvision's, as ordered rewrite rules: shared by the
 * torchvision detectors (src/models/detectors/torchvision.ts) and segmentors
 * (src/models/segmentors/torchvision.ts).
 */

/** [pattern, replacement] pairs; the first pattern that matches a key rewrites it (String.replace). */
export type KeyRules = readonly (readonly [RegExp, string])[];

/**
 * A key map for Module.loadStateDict: keys starting with a `drop` prefix (parts the model lacks) map to
 * null, the first matching rule rewrites the others, unknown keys pass through unchanged (strict
 * loading then names them).
 */
export function ruleKeyMap(rules: KeyRules, drop: readonly string[] = []): (key: string) => string | null {
  return (key) => {
    if (drop.some((p) => key.startsWith(p))) return null;
    for (const [re, to] of rules) if (re.test(key)) return key.replace(re, to);
    return key;
  };
}
