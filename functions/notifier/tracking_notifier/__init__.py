"""The stream notifier: publishes ShipmentStatusChanged when a parcel's current status changes."""
