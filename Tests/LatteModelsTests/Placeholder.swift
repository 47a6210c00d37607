import XCTest
import LatteModels
