/** Paths the tests share: the repository root and ../shared beside it. */
import * as path from 'node:path';

/** The repository root (tests run from dist/test/..., three levels below it). */
export const repoRoot = path.resolve(__dirname, '..', '..', '..');
/** The shared folder beside the checkout (fixtures made with reference implementations). */
export const sharedDir = process.env.TSVISION_SHARED ?? path.resolve(repoRoot, '..', 'shared');
/** Debian's Python, which has python3-torch and python3-torchvision (the references). */
export const referencePython = process.env.TSVISION_REF_PYTHON ?? '/usr/bin/python3';
