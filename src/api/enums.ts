/**
 * The API's enumerations as plain constants, without the schema library: the CLI imports
 * these, and each module it loads costs start-up time.
 */
export const NETWORK_MODES = ["nat", "hostonly", "internal", "routed", "bridge"] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];
