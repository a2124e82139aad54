;; Int8 dot products for brute-force vector search (see ./kernel.ts).
;;
;; Assembled at build time by the `wabt` npm package (scripts/vite-plugin-wat.mjs): nothing binary
;; is committed. Memory is the caller's: it lays out the query, the vectors and their scales, and
;; grows the memory as the library grows.
;;
;; scores(q, db, scales, out, n, dim):
;;   q       dim int16 values (the query, see quantize.ts quantizeQuery), 16-byte aligned
;;   db      n vectors of dim int8 values, one after another, 16-byte aligned
;;   scales  n float32: each vector's quantisation scale
;;   out     n float32: out[i] = scales[i] * (q . db[i])
;;   dim     a multiple of 32
;; Per 32 dimensions: two 16-byte loads of the vector, four widenings to int16, four
;; i32x4.dot_i16x8_s against the query, into two accumulators (int32 cannot overflow: the query is
;; within ±8191, the vectors ±127, and 8191 * 127 * 2048 dims < 2^31).
(module
  (memory (export "memory") 1)
  (func (export "scores") (param $q i32) (param $db i32) (param $scales i32) (param $out i32) (param $n i32) (param $dim i32)
    (local $i i32) (local $j i32) (local $row i32) (local $a v128) (local $b v128) (local $v v128) (local $qj i32)
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $a (v128.const i32x4 0 0 0 0))
        (local.set $b (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (local.set $qj (local.get $q))
        (block $end
          (loop $cols
            (br_if $end (i32.ge_u (local.get $j) (local.get $dim)))
            (local.set $v (v128.load (i32.add (local.get $row) (i32.add (local.get $db) (local.get $j)))))
            (local.set $a (i32x4.add (local.get $a)
              (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (v128.load (local.get $qj)))))
            (local.set $b (i32x4.add (local.get $b)
              (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (v128.load offset=16 (local.get $qj)))))
            (local.set $v (v128.load offset=16 (i32.add (local.get $row) (i32.add (local.get $db) (local.get $j)))))
            (local.set $a (i32x4.add (local.get $a)
              (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (v128.load offset=32 (local.get $qj)))))
            (local.set $b (i32x4.add (local.get $b)
              (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (v128.load offset=48 (local.get $qj)))))
            (local.set $j (i32.add (local.get $j) (i32.const 32)))
            (local.set $qj (i32.add (local.get $qj) (i32.const 64)))
            (br $cols)))
        (local.set $a (i32x4.add (local.get $a) (local.get $b)))
        (f32.store
          (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
          (f32.mul
            (f32.load (i32.add (local.get $scales) (i32.shl (local.get $i) (i32.const 2))))
            (f32.convert_i32_s
              (i32.add
                (i32.add (i32x4.extract_lane 0 (local.get $a)) (i32x4.extract_lane 1 (local.get $a)))
                (i32.add (i32x4.extract_lane 2 (local.get $a)) (i32x4.extract_lane 3 (local.get $a)))))))
        (local.set $row (i32.add (local.get $row) (local.get $dim)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))))
