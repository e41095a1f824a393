// The systemd unit dnscache-conf writes next to ./run: it starts
// ./run-systemd (./run without daemontools) in the service directory.
//
// dnscache-ts starts as root like dnscache: it binds port 53, chroots to
// $ROOT and drops to $UID/$GID by itself. So the unit has no User=; it keeps
// only the four capabilities that needs (bounding set) and none ambient.
// NoNewPrivileges=yes does not stop a root process from setuid()ing down -
// it only makes execve() ignore setuid bits and file capabilities, which
// nothing here relies on (systemd implies it anyway with SystemCallFilter
// and no CAP_SYS_ADMIN). V8 compiles JavaScript at run time, so
// MemoryDenyWriteExecute must stay off.

import { systemdPath, systemdWord } from './quote';

export interface UnitInput {
  /** The service directory D (absolute). */
  dir: string;
  /** Every path the service reads outside the chroot: D, node, dnscache.js. */
  paths: readonly string[];
}

function under(path: string, dirs: readonly string[]): boolean {
  return dirs.some((d) => path === d || path.startsWith(d + '/'));
}

/** /home, /root and /run/user: hidden by ProtectHome=yes, readable with read-only. */
export const HOME_DIRS = ['/home', '/root', '/run/user'] as const;
/** Replaced by empty directories with PrivateTmp=yes. */
export const TMP_DIRS = ['/tmp', '/var/tmp'] as const;

export function protectHome(paths: readonly string[]): 'yes' | 'read-only' {
  return paths.some((p) => under(p, HOME_DIRS)) ? 'read-only' : 'yes';
}

export function privateTmp(paths: readonly string[]): 'yes' | 'no' {
  return paths.some((p) => under(p, TMP_DIRS)) ? 'no' : 'yes';
}

export const CAPABILITIES = ['CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_SETUID', 'CAP_SETGID'] as const;

export function systemdUnit(input: UnitInput): string {
  const home = protectHome(input.paths);
  const tmp = privateTmp(input.paths);
  const homeNote =
    home === 'yes'
      ? ''
      : '# read-only, not yes: node, dnscache-ts or the service directory lives under a home directory\n';
  const tmpNote =
    tmp === 'yes' ? '' : '# no: node, dnscache-ts or the service directory lives under /tmp or /var/tmp\n';
  return `# dnscache-ts for ${input.dir}, written by dnscache-conf.
#   systemctl link ${input.dir}/dnscache-ts.service
#   systemctl enable --now dnscache-ts.service
# Configuration stays in env/ and root/ as for daemontools (./run);
# the log goes to the journal (journalctl -u dnscache-ts).

[Unit]
Description=dnscache-ts caching DNS resolver (${systemdPath(input.dir)})
After=network.target
Wants=nss-lookup.target
Before=nss-lookup.target

[Service]
Type=simple
WorkingDirectory=${systemdPath(input.dir)}
ExecStart=${systemdWord(`${input.dir}/run-systemd`)}
Restart=always
RestartSec=1

# Starts as root: binds port 53, chroots to $ROOT, drops to $UID/$GID itself.
CapabilityBoundingSet=${CAPABILITIES.join(' ')}
AmbientCapabilities=
NoNewPrivileges=yes
# The cache is in memory and the log goes to the journal. Written: the control socket
# (root/control, made as root before the chroot) and dumps (root/dumps, the account's).
ProtectSystem=strict
ReadWritePaths=${systemdPath(`${input.dir}/root`)}
${homeNote}ProtectHome=${home}
${tmpNote}PrivateTmp=${tmp}
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
UMask=0077
# V8 (node) compiles JavaScript to machine code: it needs writable, executable memory.
MemoryDenyWriteExecute=no
SystemCallArchitectures=native
SystemCallFilter=@system-service
# chroot(2) is in @mount, not in @system-service.
SystemCallFilter=chroot
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
`;
}
