/** MAC addresses. Pure: randomness comes in as bytes. */

export function normalizeMac(mac: string): string {
  return mac.toLowerCase();
}

/** A multicast MAC (lowest bit of the first octet) can't be a NIC's address. */
export function isMulticastMac(mac: string): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 1) === 1;
}

export function isZeroMac(mac: string): boolean {
  return /^(00:){5}00$/.test(mac);
}

/** QEMU/KVM's OUI 52:54:00 (the seed's and libvirt's) plus three random bytes. */
export function macFromBytes(bytes: Uint8Array): string {
  const tail = Array.from(bytes.slice(0, 3), (b) => b.toString(16).padStart(2, "0"));
  return ["52", "54", "00", ...tail].join(":");
}
