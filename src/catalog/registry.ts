import { apkCataloger } from './apk/index.js';
import { dpkgCataloger } from './dpkg/index.js';
import { dotnetDepsCataloger } from './dotnet/index.js';
import { goBinaryCataloger } from './go-binary/index.js';
import { javaArchiveCataloger } from './java/index.js';
import { npmInstalledCataloger, npmLockfileCataloger, pnpmLockCataloger, yarnLockCataloger } from './npm/index.js';
import { composerInstalledCataloger, composerLockCataloger } from './php/index.js';
import { pythonInstalledCataloger, pythonLockfileCataloger, pythonRequirementsCataloger } from './python/index.js';
import { rpmCataloger } from './rpm/index.js';
import { gemfileLockCataloger, gemspecCataloger } from './ruby/index.js';
import { cargoAuditableCataloger, cargoLockCataloger } from './rust/index.js';
import type { Cataloger } from './types.js';

/**
 * Every cataloger, listed explicitly (no registration by import side effect). Order does not matter:
 * the walker offers each file to all of them.
 */
export const CATALOGERS: readonly Cataloger[] = [
  dpkgCataloger,
  apkCataloger,
  rpmCataloger,
  npmInstalledCataloger,
  npmLockfileCataloger,
  yarnLockCataloger,
  pnpmLockCataloger,
  pythonInstalledCataloger,
  pythonRequirementsCataloger,
  pythonLockfileCataloger,
  javaArchiveCataloger,
  goBinaryCataloger,
  gemspecCataloger,
  gemfileLockCataloger,
  composerInstalledCataloger,
  composerLockCataloger,
  cargoLockCataloger,
  cargoAuditableCataloger,
  dotnetDepsCataloger,
];
