export * from './ledger-database';
export * from './state-bucket';
