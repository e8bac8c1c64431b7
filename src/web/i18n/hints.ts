/**
 * The API schemas' one-sentence hints (`errorHint` in src/api) in Chinese, keyed by the
 * English text. A unit test walks every schema of src/api and checks each hint is here.
 */
import { NETWORK_MODES } from "../../api/network.js";
import { BOOT_DEVICES, DISK_ALLOCS, DISK_BUSES, IMAGES, NIC_MODELS } from "../../api/vm.js";

export const hintsZh: Record<string, string> = {
  "a name must be 1 to 63 letters, digits or '-', and must not start or end with '-'": "名称须为 1 到 63 个字母、数字或“-”，且不能以“-”开头或结尾",
  "an interface name must be 1 to 15 letters, digits, '_', '.' or '-'": "接口名称须为 1 到 15 个字母、数字、“_”、“.”或“-”",
  "a MAC address must be six hex pairs separated by ':' (e.g. 52:54:00:12:34:56)": "MAC 地址须为用“:”分隔的六组十六进制数（例如 52:54:00:12:34:56）",
  "an IPv4 address must be four numbers 0-255 separated by '.'": "IPv4 地址须为用“.”分隔的四个 0–255 的数",
  "a port must be a whole number between 1 and 65535": "端口须为 1 到 65535 之间的整数",
  "a protocol must be tcp or udp": "协议须为 tcp 或 udp",
  "a subnet must be an IPv4 address and a prefix length, e.g. 10.0.0.0/24": "子网须为 IPv4 地址加前缀长度，例如 10.0.0.0/24",
  "a path must be absolute and must not contain '..'": "路径须为绝对路径，且不能包含“..”",
  [`a NIC model must be one of ${NIC_MODELS.join(", ")}`]: `网卡型号须为以下之一：${NIC_MODELS.join("、")}`,
  "memory must be a whole number of MiB between 16 and 1048576": "内存须为 16 到 1048576 之间的整数（MiB）",
  "vCPUs must be a whole number between 1 and 255": "vCPU 数须为 1 到 255 之间的整数",
  "a VM has at most 16 NICs": "一台虚拟机最多有 16 块网卡",
  [`image must be one of ${IMAGES.join(", ")}`]: `镜像须为以下之一：${IMAGES.join("、")}`,
  "a kernel command line must be one line": "内核命令行只能有一行",
  [`mode must be one of ${NETWORK_MODES.join(", ")}`]: `模式须为以下之一：${NETWORK_MODES.join("、")}`,
  "a boot order lists network, disk and cdrom at most once each": "启动顺序中 network、disk、cdrom 各最多出现一次",
  [`a boot device must be one of ${BOOT_DEVICES.join(", ")}`]: `启动设备须为以下之一：${BOOT_DEVICES.join("、")}`,
  "a disk size must be between 1M and 64T": "磁盘大小须在 1M 到 64T 之间",
  [`alloc must be ${DISK_ALLOCS.join(" or ")}`]: `分配方式须为 ${DISK_ALLOCS.join(" 或 ")}`,
  [`a disk bus must be one of ${DISK_BUSES.join(", ")}`]: `磁盘总线须为以下之一：${DISK_BUSES.join("、")}`,
  "an OS id is a short id from 'kvmgr os list', e.g. debian11": "操作系统 ID 是“kvmgr os list”中的短 ID，例如 debian11",
  "a snapshot name must be 1 to 63 letters, digits, '.', '_' or '-'": "快照名称须为 1 到 63 个字母、数字、“.”、“_”或“-”",
  "a VM has at most 16 disks": "一台虚拟机最多有 16 块磁盘",
  [`image must be one of ${IMAGES.join(", ")}, or null`]: `镜像须为以下之一：${IMAGES.join("、")}，或为空`,
  "a disk index is a whole number from 0": "磁盘序号须为从 0 开始的整数",
  "a boot file must be a relative path of letters, digits, '_', '.', '/' or '-'": "引导文件须为由字母、数字、“_”、“.”、“/”或“-”组成的相对路径",
};

/** An English hint fragment as a sentence: capital first letter, final period. */
export function hintSentenceEn(hint: string): string {
  return hint.charAt(0).toUpperCase() + hint.slice(1) + (hint.endsWith(".") ? "" : ".");
}

export function hintSentenceZh(hint: string): string {
  const zh = hintsZh[hint];
  return zh ? `${zh}。` : hintSentenceEn(hint);
}
