// The control socket (CONTROL), which serves dnscache-ctl. Its `reload` is
// SIGHUP's: both call the service's reload (the files are re-read by
// config/reload.ts).

import { Log } from '../log/log';
import { ControlCommands, ControlTarget } from './commands';
import { ControlServer } from './server';
import { ControlSettings } from './settings';

export { ControlCommands, ControlTarget, fileInRoot } from './commands';
export {
  DUMP_FORMAT,
  DUMP_VERSION,
  DumpLineError,
  entryLine,
  headerLine,
  loadDump,
  LoadReport,
  parseEntryLine,
  writeDump,
} from './dumpfile';
export { COMMANDS, ControlRequest, ControlResponse, MAX_REQUEST_BYTES, parseRequest, RequestError } from './protocol';
export { RecentQueries, RING_SIZE_DEFAULT, TopReport } from './recent';
export { CLIENT_TIMEOUT_MS, controlRequest, exchange } from './client';
export { ControlServer } from './server';
export { controlSettings, ControlSettings } from './settings';

/**
 * Starts recording recent questions and listens on the control socket.
 * Call after binding the DNS sockets and before dropping privileges.
 */
export function startControl(
  settings: ControlSettings & { socket: string },
  target: ControlTarget,
  log: Log,
): Promise<ControlServer> {
  return ControlServer.listen(settings.socket, new ControlCommands(target, log, settings.ringSize));
}
