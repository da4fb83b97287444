// Template-heavy helpers every implementation unit instantiates, as KLayout's units do with
// its containers, variants and stream formatting: they give the miniature's Python-free
// translation units a compile cost closer to KLayout's (seconds, not a fraction of one).
#ifndef TL_REPORT_H
#define TL_REPORT_H

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace tl {

/// A keyed table of samples with sorted, grouped and formatted views.
template <class K, class V>
class report {
public:
  void add(const K &k, const V &v) { m_samples[k].push_back(v); m_keys.insert(k); }

  std::map<K, std::pair<V, V>> ranges() const {
    std::map<K, std::pair<V, V>> r;
    for (const auto &kv : m_samples) {
      auto mm = std::minmax_element(kv.second.begin(), kv.second.end());
      r.emplace(kv.first, std::make_pair(*mm.first, *mm.second));
    }
    return r;
  }

  std::vector<std::pair<K, V>> sorted(std::function<bool(const V &, const V &)> less) const {
    std::vector<std::pair<K, V>> all;
    for (const auto &kv : m_samples) {
      for (const auto &v : kv.second) all.emplace_back(kv.first, v);
    }
    std::stable_sort(all.begin(), all.end(), [&](const std::pair<K, V> &a, const std::pair<K, V> &b) { return less(a.second, b.second); });
    return all;
  }

  std::string to_string() const {
    std::ostringstream os;
    for (const auto &kv : ranges()) {
      os << kv.first << "=[" << kv.second.first << "," << kv.second.second << "];";
    }
    for (const auto &k : m_keys) os << k << ":" << m_samples.at(k).size() << ";";
    return os.str();
  }

private:
  std::map<K, std::vector<V>> m_samples;
  std::set<K> m_keys;
};

}

/// One function per unit that instantiates the report for the unit's own key and value types.
#define TL_UNIT_REPORT(fn, K, V) \
  std::string fn(const std::vector<std::pair<K, V>> &in) { \
    tl::report<K, V> r; \
    for (const auto &p : in) r.add(p.first, p.second); \
    auto s = r.sorted([](const V &a, const V &b) { return a < b; }); \
    return r.to_string() + std::to_string(s.size()); \
  }

#endif
