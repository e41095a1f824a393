export { AclRules, aclKey, candidatePrefixes, formatIPv6, isAllowed, rulesFromEntries } from './rules';
export { ClientAcl, AclReloadEvent, AclReloadListener, ClientAclOptions, MEMO_LIMIT } from './acl';
export { listExistingEntries } from './directory';
