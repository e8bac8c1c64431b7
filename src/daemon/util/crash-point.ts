/**
 * Test-only fault injection: with KVMGR_TEST_CRASH_AT=OP:POINT (comma-separated for
 * several), the daemon kills itself with SIGKILL when it reaches that named point of an
 * operation, so tests can prove that restart recovers from a crash at each one.
 */
export function crashPoint(name: string): void {
  const at = process.env.KVMGR_TEST_CRASH_AT;
  if (at && at.split(",").includes(name)) process.kill(process.pid, "SIGKILL");
}

/** Every named point, for documentation and tests. */
export const CRASH_POINTS = [
  "vm.create:after-disks",
  "vm.edit:after-disks",
  "vm.clone:after-disks",
  "vm.start:after-taps",
  "vm.start:after-qemu",
  "vm.stop:after-qemu",
  "vm.delete:after-stop",
  "vm.delete:after-disks",
  "vm.snapshot-create:after-first-disk",
  "vm.snapshot-apply:after-first-disk",
  "vm.snapshot-delete:after-first-disk",
] as const;
