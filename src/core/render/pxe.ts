/**
 * The PXE recipe of the test guest. QEMU's NIC option ROMs are iPXE, which runs a boot file
 * that starts with `#!ipxe` as a script: it fetches the kernel and initrd over TFTP from
 * the same server, relative to the script's own URL. Pure.
 * https://ipxe.org/scripting, https://ipxe.org/cmd/kernel
 */

/** The boot file name kvmgr writes into a TFTP root. */
export const TEST_GUEST_BOOT_FILE = "test-guest.ipxe";

/**
 * `${hostname}` is DHCP option 12: dnsmasq sends the VM's name when it has a `dhcp-host`
 * entry for the MAC (kvmgr writes one per VM NIC); else the guest calls itself test-guest.
 */
export function renderTestGuestIpxe(): string {
  return [
    "#!ipxe",
    "# kvmgr test guest over PXE: kernel and initrd from this TFTP server",
    "isset ${hostname} || set hostname test-guest",
    "kernel vmlinuz console=tty0 console=ttyS0 quiet cryptomgr.notests hostname=${hostname}",
    "initrd initrd.img",
    "boot",
    "",
  ].join("\n");
}
