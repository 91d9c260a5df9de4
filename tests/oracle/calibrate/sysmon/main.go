// sysmon: when the live runtime's sysmon preempts a goroutine that never
// blocks, measured from the workload's start, for the model's sysmon grid
// (src/goheap/runtime/common/sysmon.py).
//
// The program sets up the runtime as the oracle twins do (a 1 µs sleep, one
// runtime.GC()), notes that instant as the workload's start, then lets a
// spinning goroutine run on the one P. The main goroutine yields to it
// (runtime.Gosched) and gets the P back only when sysmon preempts the
// spinner: each time it does, main notes the time and yields again. So the
// noted times are sysmon's preemptions: their spacing is two of its rounds
// (10 ms each, plus what each usleep oversleeps) and their offset says where
// its rounds fall against the workload.
//
// With -sleep US it instead times -n nanosleep calls of US microseconds, the
// system call sysmon's usleep makes, and prints how late each returned: the
// kernel's timer slack and wake-up, which the preemptions' spacing holds too.
//
// With -wake N (run with GOMAXPROCS=2) it instead times N wakes of the idle
// P: the main goroutine spins for a millisecond, so the other P's thread has
// gone to sleep, then readies a goroutine that notes when it runs. That is
// what a mark worker on an idle P waits after startTheWorld's wakep: the
// sleeping thread's wake-up and its schedule (worker_wake_ns).
//
// Run with GOMAXPROCS=1 (-wake: 2). Prints one JSON line: the set-up's
// length and each preemption's time, both in ns from the workload's start
// (-sleep: each call's lateness in ns; -wake: each wake's, in ns). Written in the
// language of Go 1.8 so that one source serves Go 1.8 and today's Go;
// standard library only.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	n     = flag.Int("n", 40, "preemptions to note (-sleep: calls to time)")
	sleep = flag.Int("sleep", 0, "time nanosleep calls of this many microseconds instead")
	wake  = flag.Int("wake", 0, "time this many wakes of the idle P instead (GOMAXPROCS=2)")
	stop  int32
	sink  uint64
)

//go:noinline
func mix(x uint64) uint64 { return x*6364136223846793005 + 1442695040888963407 }

// step calls mix, so it is not a leaf: its prologue checks the stack, which
// is where Go 1.8 (no asynchronous preemption) stops a preempted goroutine.
//
//go:noinline
func step(x uint64) uint64 { return mix(mix(x)) }

func spin() {
	x := uint64(1)
	for atomic.LoadInt32(&stop) == 0 {
		x = step(x)
	}
	sink = x
}

func main() {
	flag.Parse()
	if *n < 1 {
		fmt.Fprintf(os.Stderr, "sysmon: -n must be at least 1, got %d\n", *n)
		os.Exit(2)
	}
	if *sleep > 0 {
		lateness(*sleep, *n)
		return
	}
	if *wake > 0 {
		wakes(*wake)
		return
	}
	syscall.Getppid() // a mark for a syscall tracer: main starts
	t0 := time.Now().UnixNano()
	time.Sleep(time.Microsecond)
	runtime.GC()
	syscall.Getppid() // the workload starts
	start := time.Now().UnixNano()
	at := make([]string, 0, *n)
	go spin()
	for i := 0; i < *n; i++ {
		runtime.Gosched()
		at = append(at, fmt.Sprint(time.Now().UnixNano()-start))
	}
	atomic.StoreInt32(&stop, 1)
	fmt.Printf("{\"setup_ns\":%d,\"preempt_ns\":[%s]}\n", start-t0, strings.Join(at, ","))
}

// lateness prints how much longer than asked each of n nanosleep(us) calls took.
func lateness(us, n int) {
	runtime.LockOSThread()
	ts := syscall.NsecToTimespec(int64(us) * 1000)
	late := make([]string, 0, n)
	for i := 0; i < n; i++ {
		t := time.Now().UnixNano()
		syscall.Nanosleep(&ts, nil)
		late = append(late, fmt.Sprint(time.Now().UnixNano()-t-int64(us)*1000))
	}
	fmt.Printf("{\"sleep_us\":%d,\"late_ns\":[%s]}\n", us, strings.Join(late, ","))
}

// wakes prints, for each of n wakes, how long after main readied a goroutine
// that goroutine ran on the other P. Main readies two, b and then c, and
// spins on: c takes main's P's runnext and b waits in its run queue, which
// the woken P steals at once (a runnext it would steal only after
// runqgrab's usleep(3), which a mark worker does not wait for).
func wakes(n int) {
	b := make(chan int64)
	c := make(chan int64)
	done := make(chan bool)
	took := make([]string, 0, n)
	go func() {
		for t := range b {
			took = append(took, fmt.Sprint(time.Now().UnixNano()-t))
		}
		done <- true
	}()
	go func() {
		for range c {
		}
	}()
	x := uint64(1)
	for i := 0; i < n; i++ {
		end := time.Now().Add(time.Millisecond)
		for time.Now().Before(end) {
			x = step(x)
		}
		b <- time.Now().UnixNano()
		c <- 0
	}
	close(b)
	close(c)
	<-done
	sink = x
	fmt.Printf("{\"wake_ns\":[%s]}\n", strings.Join(took, ","))
}
