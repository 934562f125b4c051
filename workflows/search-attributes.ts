// The custom search attributes operators filter connections by in Temporal UI and the CLI, e.g.
// `temporal workflow list --query 'ConnectionStatus="expired"'`. Values are ids and enum words only:
// never names, e-mail addresses or anything secret.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const ConnectionStatus = defineSearchAttributeKey('ConnectionStatus', SearchAttributeType.KEYWORD);
export const ConnectionIntegration = defineSearchAttributeKey(
  'ConnectionIntegration',
  SearchAttributeType.KEYWORD,
);
export const ConnectionScope = defineSearchAttributeKey('ConnectionScope', SearchAttributeType.KEYWORD);
export const WorkspaceId = defineSearchAttributeKey('WorkspaceId', SearchAttributeType.KEYWORD);

export const connectionSearchAttributes = [
  ConnectionStatus,
  ConnectionIntegration,
  ConnectionScope,
  WorkspaceId,
];
