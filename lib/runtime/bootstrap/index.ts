export * from './bootstrap-run';
export * from './journal';
export * from './state-migration';
export * from './ledger-writer';
