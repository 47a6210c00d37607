import XCTest
import LatteFlow
