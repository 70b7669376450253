// The org a session or policy belongs to when none is named.
export const DEFAULT_ORG = 'default';
