// Where the checkout's programs are, for tests that run them as a user
// would: softraidd's launcher in this package, bioctl's in its own package
// (found through the workspace, as any dependent finds it).
import { realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** packages/softraid */
export const softraidPackageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The checkout's root (the workspace that holds every package). */
export const repositoryRoot = resolve(softraidPackageRoot, '..', '..');
/** packages/bioctl, through node_modules/@openbsd38/bioctl. */
export const bioctlPackageRoot = dirname(realpathSync(fileURLToPath(import.meta.resolve('@openbsd38/bioctl/package.json'))));

export const softraiddLauncher = join(softraidPackageRoot, 'bin', 'softraidd');
export const bioctlLauncher = join(bioctlPackageRoot, 'bin', 'bioctl');
