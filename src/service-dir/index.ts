// dnscache-conf's pieces, which make a service directory (the daemon's own
// reading of its settings is config/): the plan of the directory (pure), the
// systemd unit, the roots file choice, account lookup and the writer.

export * from './plan';
export * from './systemd';
export * from './roots';
export { lookupAccount, parsePasswdLine } from './accounts';
export { ConfError, writeServiceDir } from './write';
export { shellWord, singleQuoted, systemdPath, systemdWord } from './quote';
