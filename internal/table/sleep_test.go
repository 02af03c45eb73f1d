package table

import "time"

func sleep() { time.Sleep(2 * time.Millisecond) }
