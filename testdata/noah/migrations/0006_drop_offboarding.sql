-- Drop offboarding_requests table as offboarding is now handled client-side
DROP TABLE IF EXISTS offboarding_requests;
