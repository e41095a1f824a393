// dnscache-conf's pieces: the plan of the service directory (pure), the
// systemd unit, the roots file choice, account lookup and the writer.

export * from './plan';
export * from './systemd';
export * from './roots';
export { lookupAccount, parsePasswdLine } from './accounts';
export { ConfError, writeServiceDir } from './write';
export { shellWord, singleQuoted, systemdPath, systemdWord } from './quote';
