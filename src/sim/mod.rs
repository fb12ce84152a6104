//! The simulated Qualys server (being built).
