/** Fills a TFTP root with the test guest's PXE recipe: the iPXE script and links to the image. */
import { chmodSync, existsSync, lstatSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KvmgrError } from "../api/errors.js";
import { TEST_GUEST_BOOT_FILE, renderTestGuestIpxe } from "../core/render/pxe.js";

/**
 * dnsmasq serves TFTP after dropping root, so the directory and what it links to must be
 * world-readable (the image cache is). Returns the boot file name to give `--boot-file`.
 */
export function populateTestGuestTftpRoot(dir: string, imageDir: string): string {
  for (const f of ["vmlinuz", "initrd.img"]) {
    if (!existsSync(join(imageDir, f))) {
      throw new KvmgrError("KVMGR_ERR_IMAGE_MISSING", `${join(imageDir, f)} does not exist; build the test guest with guest/build-test-guest.sh.`);
    }
  }
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  for (const f of ["vmlinuz", "initrd.img"]) {
    const link = join(dir, f);
    if (isLink(link) || existsSync(link)) rmSync(link, { force: true });
    symlinkSync(join(imageDir, f), link);
  }
  const tmp = join(dir, `.${TEST_GUEST_BOOT_FILE}.tmp`);
  writeFileSync(tmp, renderTestGuestIpxe(), { mode: 0o644 });
  renameSync(tmp, join(dir, TEST_GUEST_BOOT_FILE));
  return TEST_GUEST_BOOT_FILE;
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
