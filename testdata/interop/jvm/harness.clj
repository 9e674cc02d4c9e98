;; JVM reference harness for tally's fressian and blob v4 codecs.
;;
;; It registers the same fressian handlers as Penpot's
;; app.common.fressian (same tags, same write logic, same caching) on
;; top of org.fressian and clojure.data.fressian, and encodes blobs the
;; way Penpot's app.util.blob encode-v4 / encode-str do.
;;
;; Usage (see run.sh):
;;   gen DIR          write the golden fixtures into DIR
;;   decode FILE...   decode each FILE (.blob: blob string, else raw
;;                    fressian) and print "FILE<TAB>canonical form"
;;   bench [N]        time a warm encode of an N-event page (default 10000)
;;   canon NAME       print the canonical form of the named fixture value

(ns harness
  (:require
   [clojure.data.fressian :as fres]
   [clojure.java.io :as io]
   [clojure.string :as str])
  (:import
   (com.github.luben.zstd Zstd)
   (java.io ByteArrayInputStream ByteArrayOutputStream DataInputStream DataOutputStream)
   (java.nio.charset StandardCharsets)
   (java.security MessageDigest)
   (java.time Instant)
   (java.util Base64 UUID)
   (org.fressian Reader StreamingWriter Writer)
   (org.fressian.handlers ReadHandler WriteHandler)))

(set! *warn-on-reflection* true)

;; --- Penpot's handlers (app.common.fressian), restated

(defn- write-named [tag ^Writer w s]
  (.writeTag w tag 2)
  (.writeObject w (namespace s) true)
  (.writeObject w (name s) true))

(defn- write-list-like [tag ^Writer w o]
  (.writeTag w tag 1)
  (.writeList w o))

(defn- write-map-like [tag ^Writer w m]
  (.writeTag w tag 1)
  (.beginClosedList ^StreamingWriter w)
  (loop [items (seq m)]
    (when-let [^clojure.lang.MapEntry item (first items)]
      (.writeObject w (.key item) true)
      (.writeObject w (.val item))
      (recur (rest items))))
  (.endList ^StreamingWriter w))

(defn- read-map-like [^Reader rdr]
  (let [kvs ^java.util.List (.readObject rdr)]
    (if (< (.size kvs) 16)
      (clojure.lang.PersistentArrayMap. (.toArray kvs))
      (clojure.lang.PersistentHashMap/create (seq kvs)))))

(defn- write-char [tag ^Writer w o]
  (.writeTag w tag 1)
  (.writeInt w (long (int (char o)))))

(defn- write-instant [tag ^Writer w o]
  (.writeTag w tag 1)
  (.writeInt w (.toEpochMilli ^Instant o)))

(def ^:private handlers
  [{:name "char" :class Character :wfn write-char
    :rfn (fn [^Reader r] (char (.readObject r)))}
   {:name "java/instant" :class Instant :wfn write-instant
    :rfn (fn [^Reader r] (Instant/ofEpochMilli (.readInt r)))}
   {:name "clj/map" :class clojure.lang.IPersistentMap :wfn write-map-like
    :rfn read-map-like}
   {:name "clj/keyword" :class clojure.lang.Keyword :wfn write-named
    :rfn (fn [^Reader r] (keyword (.readObject r) (.readObject r)))}
   {:name "clj/symbol" :class clojure.lang.Symbol :wfn write-named
    :rfn (fn [^Reader r] (symbol (.readObject r) (.readObject r)))}
   {:name "clj/set" :class clojure.lang.IPersistentSet :wfn write-list-like
    :rfn (fn [^Reader r] (set (.readObject r)))}
   {:name "clj/vector" :class clojure.lang.IPersistentVector :wfn write-list-like
    :rfn (fn [^Reader r] (vec (.readObject r)))}
   {:name "clj/list"
    :rfn (fn [^Reader r] (apply list (.readObject r)))}
   {:name "clj/seq" :class clojure.lang.ISeq :wfn write-list-like
    :rfn (fn [^Reader r] (sequence (.readObject r)))}])

(def ^:private write-lookup
  (-> (into {}
            (comp (filter :wfn)
                  (map (fn [{:keys [name class wfn]}]
                         [class {name (reify WriteHandler
                                        (write [_ w o] (wfn name w o)))}])))
            handlers)
      fres/associative-lookup
      fres/inheritance-lookup))

(def ^:private read-lookup
  (-> (into {}
            (map (fn [{:keys [name rfn]}]
                   [name (reify ReadHandler
                           (read [_ rdr _ _] (rfn rdr)))]))
            handlers)
      fres/associative-lookup))

(defn fress-encode ^bytes [data]
  (with-open [out (ByteArrayOutputStream.)]
    (fres/write-object (fres/create-writer out :handlers write-lookup) data)
    (.toByteArray out)))

(defn fress-decode [^bytes data]
  (with-open [in (ByteArrayInputStream. data)]
    (fres/read-object (fres/create-reader in :handlers read-lookup))))

;; --- Penpot's blob v4 (app.util.blob) and its string form

(defn blob-encode ^bytes [^bytes data]
  (let [dlen  (alength data)
        mlen  (Zstd/compressBound dlen)
        cdata (byte-array mlen)
        clen  (Zstd/compressByteArray cdata 0 (int mlen) data 0 dlen 0)]
    (with-open [out (ByteArrayOutputStream. (+ clen 6))
                dos (DataOutputStream. out)]
      (.writeShort dos 4)
      (.writeInt dos dlen)
      (.write dos cdata 0 (int clen))
      (.flush dos)
      (.toByteArray out))))

(defn blob-decode-fress ^bytes [^bytes data]
  (with-open [dis (DataInputStream. (ByteArrayInputStream. data))]
    (let [version (.readShort dis)
          ulen    (.readInt dis)]
      (when (not= version 4)
        (throw (ex-info "unsupported version" {:version version})))
      (let [udata (byte-array ulen)
            n     (Zstd/decompressByteArray udata 0 ulen data 6 (- (alength data) 6))]
        (when (not= n ulen)
          (throw (ex-info "length mismatch" {:declared ulen :got n})))
        udata))))

(defn b64-encode ^String [^bytes b]
  (.encodeToString (.withoutPadding (Base64/getUrlEncoder)) b))

(defn b64-decode ^bytes [^String s]
  (.decode (Base64/getUrlDecoder) (str/trim s)))

(defn encode-str ^String [data]
  (-> data fress-encode blob-encode b64-encode))

;; --- Canonical typed form, shared with the Go tests (fresstest.Canon)

(defn- hex ^String [^bytes b]
  (apply str (map #(format "%02x" (bit-and (long %) 0xff)) b)))

(defn- canon-str ^String [^String s]
  (let [sb (StringBuilder. "\"")]
    (dotimes [i (.length s)]
      (let [c (.charAt s i)]
        (if (and (<= 0x20 (int c) 0x7e) (not= c \") (not= c \\))
          (.append sb c)
          (.append sb (format "\\u%04x" (int c))))))
    (.append sb "\"")
    (.toString sb)))

(defn canon ^String [v]
  (cond
    (nil? v) "nil"
    (true? v) "true"
    (false? v) "false"
    (string? v) (canon-str v)
    (keyword? v) (str "K(" (if (namespace v) (canon-str (namespace v)) "nil") " " (canon-str (name v)) ")")
    (symbol? v) (str "S(" (if (namespace v) (canon-str (namespace v)) "nil") " " (canon-str (name v)) ")")
    (char? v) (str "C(" (int v) ")")
    (or (instance? Long v) (instance? Integer v)) (str v)
    (or (instance? Double v) (instance? Float v))
    (format "D(%016x)" (Double/doubleToLongBits (double v)))
    (uuid? v) (str "U(" v ")")
    (instance? Instant v) (str "I(" (.toEpochMilli ^Instant v) ")")
    (bytes? v) (str "B(" (hex v) ")")
    (instance? java.util.Map v)
    (str "{" (str/join ", " (sort (map (fn [[k x]] (str (canon k) " " (canon x))) v))) "}")
    (vector? v) (str "[" (str/join " " (map canon v)) "]")
    (instance? java.util.Set v) (str "#{" (str/join " " (sort (map canon v))) "}")
    (or (seq? v) (instance? java.util.List v)) (str "(" (str/join " " (map canon v)) ")")
    :else (throw (ex-info "cannot render" {:class (class v)}))))

;; --- Fixture values

(def ^:private day-ms 86400000)
(def ^:private base-day 1735689600000) ; 2025-01-01T00:00:00Z

(def ^:private event-names
  ["navigate" "create-file" "update-file" "open-file" "export-shapes"
   "login" "logout" "create-project" "comment" "update-profile"])

(defn event
  "Event i of the deterministic page (same as fresstest.Event in Go)."
  [i]
  (let [p (mod i 97)]
    (array-map
     :name (nth event-names (mod (* i 7) 10))
     :type (if (= 3 (mod i 10)) "identify" "action")
     :source "telemetry"
     :tracked-at (Instant/ofEpochMilli (+ base-day (* (quot i 1000) day-ms)))
     :profile-id (UUID/fromString (format "%08x-0000-4000-8000-%012x" p (* p 7919)))
     :props {}
     :context (if (zero? (mod i 3))
                (array-map :version "2.4.3"
                           :initiator "app"
                           :client-version "2.4.3"
                           :client-user-agent "Mozilla/5.0 (X11; Linux x86_64)")
                (array-map :version "2.4.3"
                           :locale (nth ["en-US" "es-ES" "fr-FR" "de-DE"] (mod i 4))
                           :browser (nth ["chrome" "firefox" "safari"] (mod i 3))
                           :browser-version "125.0"
                           :os "linux"
                           :os-version "6.1"
                           :screen-width (if (even? i) 1920 1280)
                           :screen-height 1080
                           :screen-color-depth 24
                           :screen-orientation "landscape-primary"
                           :event-origin "workspace")))))

(defn page [n] (mapv event (range n)))

(def ^:private int-boundaries
  (let [pows [6 12 19 25 33 41 49]]
    (vec (concat [0 1 -1 -2 63 64 -64 -65 127 128 255 256 -128 -129 -256 -257]
                 (mapcat (fn [p] (let [b (bit-shift-left 1 p)]
                                   [(dec b) b (- b) (dec (- b))]))
                         pows)
                 [Long/MAX_VALUE Long/MIN_VALUE (inc Long/MIN_VALUE) 1735689600000]))))

(defn- byte-seq [n] (byte-array (map #(unchecked-byte (mod (* % 31) 251)) (range n))))

(defn- kw-map [prefix n]
  (apply array-map (mapcat (fn [i] [(keyword (str prefix i)) i]) (range n))))

(defn fixtures []
  [["nil" nil]
   ["true" true]
   ["false" false]
   ["int-zero" 0]
   ["int-minus-one" -1]
   ["int-large" 1735689600000]
   ["int-max" Long/MAX_VALUE]
   ["ints" int-boundaries]
   ["doubles" [0.0 1.0 -0.0 -1.0 0.5 1.5 Math/PI ##NaN ##Inf ##-Inf
               Double/MIN_VALUE Double/MAX_VALUE 1e300 -2.5e-10]]
   ["floats" [(float 0.0) (float 1.0) (float 1.5) (float -2.25) (float 3.4e38) (float Float/NaN)]]
   ["string-empty" ""]
   ["strings" ["a" "abcdefg" "abcdefgh" "h\u00e9llo" "\u65e5\u672c\u8a9e" "\u20ac 5"
               "emoji \ud83d\ude00\ud83d\udc4d\ud83c\udffd" "nul\u0000byte"
               "lone \ud800 high" "lone \udc00 low" "tail \ud83d"
               "\u007f\u0080\u07ff\u0800\uffff" (apply str (repeat 300 "ab"))]]
   ["string-long-ascii" (apply str (repeat 70000 \a))]
   ["string-chunk-tail" (apply str (repeat 65539 \z))]
   ["string-long-emoji" (apply str (repeat 12000 "\ud83d\ude00"))]
   ["string-long-mixed" (apply str (repeat 9000 "a\u00e9\u20ac\ud83d\ude00"))]
   ["chars" [\a \space \u00e9 \u20ac (char 0) (char 0xffff) (char 0xd800)]]
   ["bytes" [(byte-array 0) (byte-array [1 2 3]) (byte-seq 7) (byte-seq 8) (byte-seq 300)]]
   ["bytes-chunked" (byte-seq 65536)]
   ["bytes-one-chunk" (byte-seq 65535)]
   ["keywords" [:a :b/c :app.main/event :a :b/c :c :c/a]]
   ["symbols" ['a 'b/c 'clojure.core/map 'a]]
   ["uuids" [(UUID/fromString "00000000-0000-0000-0000-000000000000")
             (UUID/fromString "5f3c1a2b-0000-4000-8000-0000deadbeef")
             (UUID/fromString "ffffffff-ffff-ffff-ffff-ffffffffffff")]]
   ["instants" [(Instant/ofEpochMilli 0) (Instant/ofEpochMilli 1735689600000)
                (Instant/ofEpochMilli 1700000000123) (Instant/ofEpochMilli -1)]]
   ["empties" [{} [] #{} () "" (byte-array 0)]]
   ["set" #{1 2 3 "a" :k 5000 [1 2]}]
   ["list" (list 1 2 3)]
   ["seq" (seq [1 :two "three"])]
   ["nested" (array-map :a (array-map :b (array-map :c [1 2 (array-map :d #{:e})]))
                        "str-key" 1
                        42 :int-key
                        5000 :big-int-key
                        nil :nil-key
                        [1 2] :vec-key
                        :list [(list) (list 1 (list 2))])]
   ["map-string-keys" [(array-map "a" 1 "b" 2) (array-map "b" 3 "a" 4 "" 5)]]
   ["map-scalar-keys" [(array-map 1.5 :d 0.0 :z 1.0 :o (char 65) :c true :t
                                  (UUID/fromString "5f3c1a2b-0000-4000-8000-0000deadbeef") :u
                                  (Instant/ofEpochMilli 1735689600000) :i 'sym :s)
                       (array-map 1.5 :d 0.0 :z 1.0 :o (char 65) :c true :t
                                  (UUID/fromString "5f3c1a2b-0000-4000-8000-0000deadbeef") :u
                                  (Instant/ofEpochMilli 1735689600000) :i 'sym :s)]]
   ["map-composite-keys" [{[1 2] :a} {[1 2] :b} {(list 1 2) :c} {{:x 1} :m} {{:x 1} :n} {#{:s} 1} {#{:s} 2}]]
   ["map-hash-order" (into {} (map (fn [i] [(keyword (str "h" i)) (str "v" i)]) (range 20)))]
   ["map-many-keys" [(kw-map "k" 40) (kw-map "k" 40)]]
   ["map-ns-keys" [(array-map :app.main/event 1 :app.main/other 2 :event 3)
                   (array-map :app.main/event 4 :event 5)]]
   ["event-page-small" (page 3)]
   ["event-page" (page 10000)]])

;; --- Commands

(defn- sha256 ^String [^String s]
  (hex (.digest (MessageDigest/getInstance "SHA-256") (.getBytes s StandardCharsets/UTF_8))))

(defn- expected-form
  "The canonical form of what the Java reader reads back, or the SHA-256
  of it when it is long."
  ^String [^String c]
  (if (> (count c) 65536) (str "sha256:" (sha256 c)) c))

(defn gen [dir]
  (.mkdirs (io/file dir))
  (doseq [[fname v] (fixtures)]
    (let [fb   (fress-encode v)
          back (fress-decode fb)
          c    (canon back)]
      (when (not= c (canon v))
        (println "note:" fname "reads back differently from the value written (lossy in Java too)"))
      (when (<= (alength fb) 16384)
        (with-open [o (io/output-stream (io/file dir (str fname ".fress")))]
          (.write o fb)))
      (spit (io/file dir (str fname ".blob")) (b64-encode (blob-encode fb)))
      (spit (io/file dir (str fname ".txt")) (str (expected-form c) "\n"))
      (println fname (alength fb) "bytes"))))

(defn- decode-file [^String path]
  (let [f (io/file path)]
    (if (str/ends-with? path ".blob")
      (fress-decode (blob-decode-fress (b64-decode (slurp f))))
      (fress-decode (java.nio.file.Files/readAllBytes (.toPath f))))))

(defn decode [paths]
  (doseq [p paths]
    (let [out (try (canon (decode-file p))
                   (catch Throwable t (str "ERROR: " (.getName (class t)) ": " (.getMessage t))))]
      (println (str p "\t" out)))))

(defn bench [n]
  (let [data  (page n)
        run   (fn [] (encode-str data))
        s     ^String (run)
        fsize (alength (fress-encode data))]
    (dotimes [_ 30] (run))
    (let [iters 30
          times (vec (for [_ (range iters)]
                       (let [t0 (System/nanoTime)]
                         (run)
                         (/ (- (System/nanoTime) t0) 1e6))))
          fress (vec (for [_ (range iters)]
                       (let [t0 (System/nanoTime)]
                         (fress-encode data)
                         (/ (- (System/nanoTime) t0) 1e6))))]
      (println (format "events=%d fressian-bytes=%d blob-string-chars=%d" n fsize (count s)))
      (println (format "jvm fressian+zstd+base64 encode: mean %.2f ms, min %.2f ms (%d warm runs)"
                       (/ (reduce + times) iters) (apply min times) iters))
      (println (format "jvm fressian-only encode:         mean %.2f ms, min %.2f ms"
                       (/ (reduce + fress) iters) (apply min fress))))))

(defn -main [& [cmd & args]]
  (case cmd
    "gen" (gen (or (first args) "fixtures"))
    "decode" (decode args)
    "bench" (bench (if (first args) (Long/parseLong (first args)) 10000))
    "canon" (println (canon (some (fn [[n v]] (when (= n (first args)) v)) (fixtures))))
    (do (binding [*out* *err*]
          (println "usage: harness.clj gen DIR | decode FILE... | bench [N] | canon NAME"))
        (System/exit 2)))
  (shutdown-agents))

(apply -main *command-line-args*)
