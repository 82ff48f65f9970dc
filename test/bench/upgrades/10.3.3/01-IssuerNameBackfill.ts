export { default } from '../../../../upgrades/10.3.3/01-IssuerNameBackfill';
