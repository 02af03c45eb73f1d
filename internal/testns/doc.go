// Package testns runs end-to-end tests inside network (and mount)
// namespaces of their own, with helper processes ("roles") made from the
// test binary itself: nothing a test does can reach beyond lo, and every
// process it starts dies with it.
//
// A role tells its starter it is set up with a "ready" line on stdout,
// optionally followed by words of its own (Ready, Announce: child pids,
// ports), and ends when its stdin closes (Proc.Stop).
//
// It is Linux-only; this file lets the package be named on every OS.
package testns
