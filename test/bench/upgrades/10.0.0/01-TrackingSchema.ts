// The bench bundle holds the tracking step and the backfill only, so that it times the backfill.
export { default } from '../../../../upgrades/10.0.0/01-TrackingSchema';
