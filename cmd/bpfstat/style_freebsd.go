//go:build freebsd

package main

const defaultStyle = "bsd"
