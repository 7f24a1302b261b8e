-- A second database for OpenFGA next to the sidecar's own.
create database openfga owner authz;
