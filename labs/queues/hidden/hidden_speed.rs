//! Hidden test: the throughput floor (CS144's ByteStream asks 0.1 Gbit/s;
//! so do we, in a debug build, which the reference beats many times over).

lab_receipt::graded! {
    fn at_least_a_tenth_of_a_gigabit() {
        let (bytes, secs, gbps) = lab_queues::measure_throughput(1448, 16 << 20, 1.0);
        println!("{bytes} bytes in {secs:.3} s: {gbps:.3} Gbit/s");
        assert!(gbps >= 0.1, "{gbps:.3} Gbit/s is below the 0.1 Gbit/s floor");
    }
}
