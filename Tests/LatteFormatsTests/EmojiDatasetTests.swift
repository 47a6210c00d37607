import Foundation
import LatteTestSupport
import XCTest

@testable import LatteFormats

final class EmojiDatasetTests: XCTestCase {
    // MARK: Captions from the Unicode names

    /// Expected captions written by hand from the Unicode character names (UnicodeData.txt) and CLDR's
    /// English skin-tone and region names, not produced by the code under test.
    func testCaptionsFollowTheUnicodeNames() throws {
        let table: [(String, String)] = [
            ("1f600", "grinning face"),                               // GRINNING FACE
            ("2764", "heavy black heart"),                            // HEAVY BLACK HEART
            ("2764-fe0f", "heavy black heart"),                       // VS16 is not named
            ("1f4af", "hundred points symbol"),
            ("2615", "hot beverage"),
            ("1f170", "negative squared latin capital letter a"),
            ("1f44d-1f3fd", "thumbs up sign, medium skin tone"),      // FITZPATRICK TYPE-4 = medium
            ("1f44b-1f3fb", "waving hand sign, light skin tone"),     // TYPE-1-2 = light
            ("1f3fb", "light skin tone"),                             // the swatch alone
            ("1f3ff", "dark skin tone"),
            ("1f9b0", "red hair"),                                    // EMOJI COMPONENT RED HAIR alone
            ("1f1eb-1f1f7", "flag of france"),                        // regional indicators F R
            ("1f1ef-1f1f5", "flag of japan"),
            ("1f1fa-1f1f8", "flag of united states"),
            ("1f3f4-e0067-e0062-e0073-e0063-e0074-e007f", "flag of scotland"),  // tags g b s c t
            ("1f3f4-e0067-e0062-e0065-e006e-e0067-e007f", "flag of england"),
            ("31-20e3", "keycap 1"),
            ("0031-FE0F-20E3", "keycap 1"),                           // EmojiOne's spelling
            ("23-20e3", "keycap #"),
            ("2a-20e3", "keycap *"),
            ("1f468-200d-1f373", "man cooking"),                      // MAN ZWJ COOKING
            ("1f3c3-200d-2640-fe0f", "woman runner"),                 // RUNNER ZWJ FEMALE SIGN
            ("1f46e-200d-2642-fe0f", "man police officer"),
            ("1f469-200d-1f9b0", "woman, red hair"),                  // EMOJI COMPONENT RED HAIR
            ("1f468-200d-1f469-200d-1f467", "man woman girl"),
            ("1f9d1-1f3ff-200d-1f91d-200d-1f9d1-1f3fb", "adult handshake adult, dark skin tone, light skin tone"),
            ("1f469-1f3fd-200d-2764-fe0f-200d-1f468-1f3fd", "woman heavy black heart man, medium skin tone"),
        ]
        for (stem, expected) in table {
            let sequence = try XCTUnwrap(EmojiSequence(fileStem: stem), stem)
            XCTAssertEqual(try EmojiCaptioner.caption(sequence), expected, stem)
        }
    }

    func testUncaptionableSequencesAreErrorsNotCrashes() throws {
        for stem in ["2fffd",         // unassigned: no name
                     "1f3fb-1f3fc",   // two tones, nothing they modify
                     "1f600-20e3",    // a keycap on a non-ASCII key
                     "fe0f"] {        // nothing but a variation selector
            let sequence = try XCTUnwrap(EmojiSequence(fileStem: stem), stem)
            XCTAssertThrowsError(try EmojiCaptioner.caption(sequence), stem) { error in
                XCTAssertTrue(error is EmojiCaptioner.Failure, "\(stem): \(error)")
            }
        }
        for bad in ["", "hello", "1f600--1f601", "110000", "d800", "1f600-", "1234567"] {
            XCTAssertNil(EmojiSequence(fileStem: bad), bad)
        }
    }

    func testKeysMatchTheSetsSpellings() throws {
        func s(_ stem: String) -> EmojiSequence { EmojiSequence(fileStem: stem)! }
        XCTAssertEqual(s("0031-FE0F-20E3").matchKey, s("31-20e3").matchKey)
        XCTAssertEqual(s("2764").matchKey, s("2764-fe0f").matchKey)
        XCTAssertEqual(s("1F3F3-1F308").matchKey, s("1f3f3-fe0f-200d-1f308").matchKey)  // rainbow flag
        XCTAssertNotEqual(s("1f44d-1f3fd").matchKey, s("1f44d").matchKey)
        XCTAssertEqual(s("1f44d-1f3fd").groupKey, s("1f44d").groupKey)
        XCTAssertEqual(s("1f3fd").groupKey, "1f3fd")
    }

    // MARK: Split

    func testSplitIsDeterministicAndAboutTenPercent() {
        // Values of SplitMix64.mix(FNV-1a-64(key)) mod 100 computed independently (Python).
        XCTAssertEqual(EmojiDataset.split(ofGroup: "1f44d"), .test)        // 2
        XCTAssertEqual(EmojiDataset.split(ofGroup: "1f600"), .train)       // 27
        XCTAssertEqual(EmojiDataset.split(ofGroup: "2764"), .train)        // 79
        XCTAssertEqual(EmojiDataset.split(ofGroup: "1f468-1f373"), .train) // 16
        let held = (0..<20_000).filter { EmojiDataset.split(ofGroup: "emoji \($0)") == .test }.count
        XCTAssertEqual(Double(held) / 20_000, 0.10, accuracy: 0.01)
    }

    func testTwemojiFolderCaptionsAndReportsWhatItCannot() throws {
        let dir = try makeScratchDirectory(self)
        for stem in ["1f600", "2764-fe0f", "1f44d-1f3fd", "2fffd", "not-an-emoji"] {
            try PNG.write(Image(width: 2, height: 2, channels: 4, fill: [1, 2, 3, 255]), to: "\(dir.path)/\(stem).png")
        }
        let categories = EmojiCategories(byKey: ["1f600": "Smileys & Emotion", "1f44d": "People & Body", "2764": "Smileys & Emotion"])
        let set = try TwemojiDataset(folder: dir.path, categories: categories)
        XCTAssertEqual(set.entries.map(\.file), ["1f44d-1f3fd.png", "1f600.png", "2764-fe0f.png"])
        XCTAssertEqual(set.entries.map(\.caption), ["thumbs up sign, medium skin tone", "grinning face", "heavy black heart"])
        XCTAssertEqual(set.entries.map(\.category), ["People & Body", "Smileys & Emotion", "Smileys & Emotion"])  // the tone falls back to its base
        XCTAssertEqual(Set(set.skipped.map(\.file)), ["2fffd.png", "not-an-emoji.png"])
        XCTAssertEqual(try set.item(at: 2).label, 1)
        for i in 0..<set.count {
            let item = try set.item(at: i)
            XCTAssertEqual(try set.annotation(at: i), DatasetAnnotation(label: item.label, captions: item.captions))
        }
        XCTAssertEqual(categories.category(of: EmojiSequence(fileStem: "1f1eb-1f1f7")!), "Flags")
        XCTAssertEqual(categories.category(of: EmojiSequence(fileStem: "1f1eb")!), "Symbols")  // a lone letter
        XCTAssertEqual(categories.category(of: EmojiSequence(fileStem: "1f600-200d-1f373")!), "Smileys & Emotion")  // first code point
        XCTAssertEqual(categories.category(of: EmojiSequence(fileStem: "1f9ff")!), EmojiCategories.unknown)
    }

    // MARK: The pinned sets

    func testPinnedEmojiSplitsAreDisjointByEmojiAndRGB() throws {
        for name in ["emojione", "twemoji", "unicode-emoji", "cldr-annotations"] { _ = try PinnedAssets.require(name) }
        let all = try EmojiDataset.pinned(split: nil)
        let train = try XCTUnwrap(try ImageDataSource.dataset("emoji", split: .train) as? EmojiDataset)
        let test = try XCTUnwrap(try ImageDataSource.dataset("emoji", split: .test) as? EmojiDataset)
        XCTAssertEqual(train.count + test.count, all.count)
        XCTAssertEqual(all.entries.filter { $0.style == .emojione }.count, 1794)
        XCTAssertEqual(all.entries.filter { $0.style == .twemoji }.count + all.skipped.count, 4009)
        let trainGroups = Set(train.entries.map(\.sequence.groupKey)), testGroups = Set(test.entries.map(\.sequence.groupKey))
        XCTAssertTrue(trainGroups.isDisjoint(with: testGroups))
        XCTAssertEqual(Double(testGroups.count) / Double(trainGroups.count + testGroups.count), 0.10, accuracy: 0.02)
        // Both art styles of a held-out emoji are held out: every EmojiOne emoji is also in Twemoji.
        let testKeys = Dictionary(grouping: test.entries, by: \.sequence.matchKey)
        for (key, copies) in testKeys where copies.contains(where: { $0.style == .emojione }) {
            XCTAssertEqual(Set(copies.map(\.style)), [.emojione, .twemoji], key)
            XCTAssertEqual(copies[0].captions, copies[1].captions, key)
        }
        XCTAssertEqual(train.classNames, test.classNames)
        // The standard's nine groups (Component folded into People & Body), then `unknown` for the Twemoji
        // emoji newer than Emoji 15.0 that neither a derivation rule nor a fallback places.
        XCTAssertEqual(Array(train.classNames.prefix(9)), ["Activities", "Animals & Nature", "Flags", "Food & Drink", "Objects",
                                                           "People & Body", "Smileys & Emotion", "Symbols", "Travel & Places"])
        // The split is keyed by code points only: the same counts as with the earlier captions.
        XCTAssertEqual([train.count, test.count], [5244, 558])
        for e in all.entries { XCTAssertTrue((1...3).contains(e.captions.count), "\(e.sequence): \(e.captions)") }
        for row in test.emojiCaptions.enumerated().filter({ $0.offset % 12 == 0 }).map(\.element) {
            print("held out \(row.sequence) [\(row.category)]: \(row.captions.joined(separator: " | "))")
        }
        let perCategory = Dictionary(grouping: all.entries, by: \.category).mapValues(\.count).sorted { $0.key < $1.key }
        print("emoji images per category: \(perCategory.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        print("emoji: \(all.count) images (\(train.count) train, \(test.count) held out); \(trainGroups.count + testGroups.count) emoji groups (\(testGroups.count) held out); \(all.skipped.count) Twemoji files skipped: \(all.skipped.map(\.description))")

        // Items come out as colour images, through the loader as 3-channel RGB.
        let heart = try XCTUnwrap(train.entries.firstIndex { $0.sequence.matchKey == "2764" && $0.style == .twemoji })
        let item = try train.item(at: heart)
        XCTAssertEqual(item.captions, ["red heart", "heavy black heart"])
        XCTAssertEqual(try train.annotation(at: heart), DatasetAnnotation(label: item.label, captions: item.captions), "read without decoding")
        XCTAssertEqual([item.image.width, item.image.height], [72, 72])
        XCTAssertGreaterThanOrEqual(item.image.channels, 3)
        let preparation = ImagePreparation(resolution: 32, channels: 3, background: .white)
        let loader = try DataLoader(dataset: test, options: preparation.loaderOptions(batchSize: 8, shuffle: false, seed: 0))
        let batch = try loader.next()
        XCTAssertEqual([batch.count, batch.channels, batch.height, batch.width], [8, 3, 32, 32])
    }

    /// Every pinned PNG (palette, grey+alpha and truecolour RGBA variants) decodes with the project's
    /// PNG reader and comes out of the training preparation as 32×32 RGB.
    func testEveryPinnedEmojiImageDecodes() throws {
        for name in ["emojione", "twemoji", "unicode-emoji", "cldr-annotations"] { _ = try PinnedAssets.require(name) }
        let all = try EmojiDataset.pinned(split: nil)
        // The one Twemoji file left out is a private-use code point (U+E50A), which Unicode does not name.
        XCTAssertEqual(all.skipped.map(\.file), ["e50a.png"])
        let preparation = ImagePreparation(resolution: 32, channels: 3, background: .white)
        let loader = try DataLoader(dataset: all, options: preparation.loaderOptions(batchSize: 500, shuffle: false, seed: 0))
        var seen = 0
        while seen < all.count {
            let b = try loader.next()  // fails naming the file if one does not decode
            XCTAssertEqual([b.channels, b.height, b.width], [3, 32, 32])
            seen += b.count
        }
        XCTAssertEqual(seen, all.count)
        let channels = Set(try all.entries.indices.filter { $0 % 7 == 0 }.map { try all.item(at: $0).image.channels })
        XCTAssertTrue(channels.isSubset(of: [2, 3, 4]), "\(channels)")
    }
}
