import Foundation

/// The loops' clock: seconds since boot, never stepped by NTP (deadlines and expiries).
package func monotonicSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
