import Foundation
import LatteTestSupport
import XCTest

@testable import LatteFormats

/// The Unicode standard's emoji names, groups and keywords (emoji-test.txt, CLDR annotations) and the
/// captions and categories the emoji set takes from them.
final class EmojiNamesTests: XCTestCase {
    // MARK: Parsers, on excerpts of the real files

    /// Lines copied from Emoji 15.0's emoji-test.txt.
    static let emojiTestExcerpt = """
        # Version: 15.0

        # group: Smileys & Emotion

        # subgroup: heart
        2764 FE0F 200D 1F525                                   ; fully-qualified     # ❤️‍🔥 E13.1 heart on fire
        2764 200D 1F525                                        ; unqualified         # ❤‍🔥 E13.1 heart on fire
        2764 FE0F                                              ; fully-qualified     # ❤️ E0.6 red heart
        2764                                                   ; unqualified         # ❤ E0.6 red heart

        # group: People & Body

        # subgroup: hand-fingers-closed
        1F44D                                                  ; fully-qualified     # 👍 E0.6 thumbs up
        1F44D 1F3FD                                            ; fully-qualified     # 👍🏽 E1.0 thumbs up: medium skin tone

        # subgroup: person-activity
        1F3C3                                                  ; fully-qualified     # 🏃 E0.6 person running
        1F3C3 200D 2640 FE0F                                   ; fully-qualified     # 🏃‍♀️ E4.0 woman running

        # group: Component

        # subgroup: skin-tone
        1F3FB                                                  ; component           # 🏻 E1.0 light skin tone
        1F3FD                                                  ; component           # 🏽 E1.0 medium skin tone

        # group: Flags

        # subgroup: country-flag
        1F1E8 1F1EE                                            ; fully-qualified     # 🇨🇮 E2.0 flag: Côte d’Ivoire
        1F1EB 1F1F7                                            ; fully-qualified     # 🇫🇷 E0.6 flag: France

        #EOF
        """

    /// Lines copied from CLDR 41's annotations/en.xml and annotationsDerived/en.xml.
    static let annotationsExcerpt = """
        <ldml>
        	<annotations>
        		<annotation cp="&amp;">ampersand | and | et</annotation>
        		<annotation cp="&amp;" type="tts">ampersand</annotation>
        		<annotation cp="🏻">light skin tone | skin tone | type 1–2</annotation>
        		<!-- causes tool breakage
        			 <annotation cp="">whitespace</annotation>
        		-->
        		<annotation cp="❤‍🔥">burn | heart | heart on fire | love | lust | sacred heart</annotation> <!-- 2764 200D 1F525 -->
        		<annotation cp="❤‍🔥" type="tts">heart on fire</annotation>
        		<annotation cp="❤">heart | red heart</annotation>
        		<annotation cp="❤" type="tts">red heart</annotation>
        		<annotation cp="👍">+1 | hand | thumb | thumbs up | up</annotation>
        		<annotation cp="👍" type="tts">thumbs up</annotation>
        		<annotation cp="👍🏽">+1 | hand | medium skin tone | thumb | thumbs up | up</annotation>
        		<annotation cp="👍🏽" type="tts">thumbs up: medium skin tone</annotation>
        	</annotations>
        </ldml>
        """

    static func excerptNames() throws -> EmojiNames {
        EmojiNames(list: try EmojiTestList(text: emojiTestExcerpt, file: "emoji-test.txt"),
                   annotations: try CLDRAnnotations(text: annotationsExcerpt, file: "en.xml"))
    }

    func testEmojiTestListKeepsOneEntryPerEmojiWithItsGroup() throws {
        let list = try EmojiTestList(text: Self.emojiTestExcerpt, file: "emoji-test.txt")
        XCTAssertEqual(list.entries.count, 10)  // 14 lines, 4 of them other qualifications
        XCTAssertEqual(list.groups, ["Smileys & Emotion", "People & Body", "Component", "Flags"])
        let heart = try XCTUnwrap(list.entry(for: EmojiSequence(fileStem: "2764")!))  // EmojiOne's spelling
        XCTAssertEqual(heart.sequence, EmojiSequence(fileStem: "2764-fe0f"))            // the fully-qualified form kept
        XCTAssertEqual([heart.name, heart.group, heart.subgroup], ["red heart", "Smileys & Emotion", "heart"])
        XCTAssertEqual(heart.status, .fullyQualified)
        XCTAssertEqual(list.entry(for: EmojiSequence(fileStem: "1f3fb")!)?.status, .component)
        XCTAssertEqual(list.entry(for: EmojiSequence(fileStem: "1f1eb-1f1f7")!)?.name, "flag: France")
        XCTAssertNil(list.entry(for: EmojiSequence(fileStem: "1f600")!))
    }

    func testAnnotationsReadKeywordsAndNames() throws {
        let a = try CLDRAnnotations(text: Self.annotationsExcerpt, file: "en.xml")
        XCTAssertEqual(a.keywords["26"], ["ampersand", "and", "et"])  // cp="&amp;" is U+0026
        XCTAssertEqual(a.names["2764-1f525"], "heart on fire")
        // A modifier right after the quote joins it into one Character; the reader works on bytes.
        XCTAssertEqual(a.keywords["1f3fb"], ["light skin tone", "skin tone", "type 1–2"])
        XCTAssertEqual(a.keywords["2764"], ["heart", "red heart"])
        XCTAssertEqual(a.names["1f44d-1f3fd"], "thumbs up: medium skin tone")
    }

    func testMalformedFilesAreErrorsNamingFileAndLine() {
        func expect(_ body: () throws -> Void, _ mentions: [String]) {
            XCTAssertThrowsError(try body()) { error in
                let text = "\(error)"
                for m in mentions { XCTAssertTrue(text.contains(m), "'\(m)' not in: \(text)") }
            }
        }
        let header = "# group: Smileys & Emotion\n# subgroup: face-smiling\n"
        expect({ _ = try EmojiTestList(text: header + "1F600 ; fully-qualified # 😀 E1.0 grinning face\n1F603 fully-qualified\n", file: "t.txt") },
               ["t.txt", "line 4"])
        expect({ _ = try EmojiTestList(text: header + "1F600 ; happy # 😀 E1.0 grinning face\n", file: "t.txt") }, ["line 3", "unknown status 'happy'"])
        expect({ _ = try EmojiTestList(text: header + "1G600 ; fully-qualified # 😀 E1.0 grinning face\n", file: "t.txt") }, ["line 3", "1G600"])
        expect({ _ = try EmojiTestList(text: header + "1F600 ; fully-qualified # 😀 grinning face\n", file: "t.txt") }, ["line 3", "E<version>"])
        expect({ _ = try EmojiTestList(text: "1F600 ; fully-qualified # 😀 E1.0 grinning face\n", file: "t.txt") }, ["line 1", "before any"])
        expect({ _ = try EmojiTestList(text: header + "2764 FE0F ; fully-qualified # ❤️ E0.6 red heart\n2764 ; unqualified # ❤ E0.6 blue heart\n", file: "t.txt") },
               ["line 4", "blue heart", "red heart"])
        expect({ _ = try EmojiTestList(text: "# nothing here\n", file: "t.txt") }, ["t.txt", "no emoji entries"])
        expect({ _ = try CLDRAnnotations(text: "<annotation cp=\"❤\">heart | red heart\n", file: "a.xml") }, ["a.xml", "line 1", "</annotation>"])
        expect({ _ = try CLDRAnnotations(text: "<annotation type=\"tts\" cp=\"❤\">red heart</annotation>\n", file: "a.xml") }, ["line 1", "cp="])
        expect({ _ = try CLDRAnnotations(text: "<ldml></ldml>\n", file: "a.xml") }, ["a.xml", "no <annotation>"])
    }

    // MARK: Captions and groups

    /// Captions written by hand from the excerpts' names and keywords and the Unicode character names.
    func testCaptionsFromTheStandardsNames() throws {
        let names = try Self.excerptNames()
        func captions(_ stem: String) throws -> [String] {
            let s = try XCTUnwrap(EmojiSequence(fileStem: stem), stem)
            let name = try XCTUnwrap(names.name(of: s), stem)
            return EmojiDataset.standardCaptions(shortName: name.shortName, unicodeName: try? EmojiCaptioner.caption(s),
                                                 keywords: names.keywords(of: s))
        }
        // "heart | red heart" adds no word to "red heart".
        XCTAssertEqual(try captions("2764"), ["red heart", "heavy black heart"])
        XCTAssertEqual(try captions("2764-fe0f"), ["red heart", "heavy black heart"])
        // Keywords in CLDR's order, skipping the ones already in the name.
        XCTAssertEqual(try captions("2764-fe0f-200d-1f525"), ["heart on fire", "heavy black heart fire", "heart on fire, burn, love"])
        // "+1" has no letters; "thumbs up" and "medium skin tone" are in the name; "hand" and "thumb" are not.
        XCTAssertEqual(try captions("1f44d-1f3fd"), ["thumbs up, medium skin tone", "thumbs up sign, medium skin tone",
                                                     "thumbs up, medium skin tone, hand, thumb"])
        XCTAssertEqual(try captions("1f1eb-1f1f7"), ["flag of france"])  // the Unicode-name caption is the same
        XCTAssertEqual(try captions("1f1e8-1f1ee").first, "flag of côte d'ivoire")
        XCTAssertEqual(try captions("1f3fb"), ["light skin tone", "light skin tone, type 1–2"])  // "skin tone" adds nothing

        XCTAssertEqual(EmojiNames.phrase("keycap: #"), "keycap #")
        XCTAssertEqual(EmojiNames.phrase("family: man, woman, girl"), "family, man, woman, girl")
        XCTAssertEqual(EmojiNames.phrase("OK hand"), "ok hand")
    }

    func testGroupsFoldComponentsAndDeriveNewerSequences() throws {
        let names = try Self.excerptNames()
        func name(_ stem: String) -> EmojiNames.Name? { names.name(of: EmojiSequence(fileStem: stem)!) }
        XCTAssertEqual(names.groups, ["Flags", "People & Body", "Smileys & Emotion"])
        XCTAssertEqual(name("1f3fb")?.group, "People & Body")  // a Component swatch
        XCTAssertEqual(name("1f3fb")?.subgroup, "skin-tone")
        XCTAssertEqual(name("2764")?.group, "Smileys & Emotion")
        // Not listed; named by the standard's rules from a listed base.
        XCTAssertEqual(name("1f3c3-1f3fb"), .init(shortName: "person running: light skin tone", group: "People & Body",
                                                 subgroup: "person-activity", derived: true))
        XCTAssertEqual(name("1f3c3-200d-27a1-fe0f")?.shortName, "person running facing right")
        XCTAssertEqual(name("1f3c3-1f3fd-200d-2640-fe0f-200d-27a1-fe0f")?.shortName, "woman running facing right: medium skin tone")
        XCTAssertNil(name("1f600"))
        let categories = EmojiCategories(names)
        XCTAssertEqual(categories.category(of: EmojiSequence(fileStem: "1f1e9-1f1ea")!), "Flags")     // not in the excerpt
        XCTAssertEqual(categories.category(of: EmojiSequence(fileStem: "2764-200d-1fa79")!), "Smileys & Emotion")  // first code point
        XCTAssertEqual(categories.category(of: EmojiSequence(fileStem: "1f600")!), EmojiCategories.unknown)
    }

    // MARK: The pinned files

    /// First captions written by hand from Emoji 15.0's emoji-test.txt names; groups from the file's
    /// `# group:` lines.
    func testPinnedNamesAndGroups() throws {
        _ = try PinnedAssets.require("unicode-emoji")
        _ = try PinnedAssets.require("cldr-annotations")
        let names = try EmojiNames.pinned()
        XCTAssertEqual(names.list.entries.count, 3664)  // 3655 fully-qualified + 9 components, one per emoji
        XCTAssertEqual(names.groups, ["Activities", "Animals & Nature", "Flags", "Food & Drink", "Objects",
                                      "People & Body", "Smileys & Emotion", "Symbols", "Travel & Places"])
        let table: [(String, String, String)] = [
            ("2764", "red heart", "Smileys & Emotion"),                           // 2764 FE0F ; … red heart
            ("2764-fe0f", "red heart", "Smileys & Emotion"),
            ("1f600", "grinning face", "Smileys & Emotion"),
            ("1f44d-1f3fd", "thumbs up, medium skin tone", "People & Body"),      // thumbs up: medium skin tone
            ("1f44c", "ok hand", "People & Body"),                                // OK hand
            ("1f468-200d-1f469-200d-1f467", "family, man, woman, girl", "People & Body"),
            ("1f469-200d-1f9b0", "woman, red hair", "People & Body"),             // woman: red hair
            ("1f3c3-200d-2640-fe0f", "woman running", "People & Body"),
            ("1f3fb", "light skin tone", "People & Body"),                         // Component, folded
            ("1f9b0", "red hair", "People & Body"),
            ("1f436", "dog face", "Animals & Nature"),
            ("1f355", "pizza", "Food & Drink"),
            ("1f680", "rocket", "Travel & Places"),
            ("26bd", "soccer ball", "Activities"),
            ("1f4f1", "mobile phone", "Objects"),
            ("267b", "recycling symbol", "Symbols"),
            ("0031-FE0F-20E3", "keycap 1", "Symbols"),                            // keycap: 1
            ("23-20e3", "keycap #", "Symbols"),
            ("1f1eb-1f1f7", "flag of france", "Flags"),                           // flag: France
            ("1f1fa-1f1f8", "flag of united states", "Flags"),
            ("1f1e8-1f1ee", "flag of côte d'ivoire", "Flags"),                    // flag: Côte d’Ivoire
            ("1f3f4-e0067-e0062-e0073-e0063-e0074-e007f", "flag of scotland", "Flags"),
            ("1f3f3-1f308", "rainbow flag", "Flags"),                             // EmojiOne's spelling, no FE0F/ZWJ
            ("2764-fe0f-200d-1f525", "heart on fire", "Smileys & Emotion"),
            // Not in Emoji 15.0 (dropped or newer), named by the derivation rules:
            ("1f93c-1f3fb", "people wrestling, light skin tone", "People & Body"),
            ("1f6b6-200d-27a1-fe0f", "person walking facing right", "People & Body"),
        ]
        for (stem, caption, group) in table {
            let s = try XCTUnwrap(EmojiSequence(fileStem: stem), stem)
            let name = try XCTUnwrap(names.name(of: s), stem)
            XCTAssertEqual(EmojiNames.phrase(name.shortName), caption, stem)
            XCTAssertEqual(name.group, group, stem)
        }
        XCTAssertEqual(names.keywords(of: EmojiSequence(fileStem: "2764-fe0f-200d-1f525")!),
                       ["burn", "heart", "heart on fire", "love", "lust", "sacred heart"])
    }

    func testPinnedEmojiSetCaptionsAndCategories() throws {
        for name in ["emojione", "twemoji", "unicode-emoji", "cldr-annotations"] { _ = try PinnedAssets.require(name) }
        let all = try EmojiDataset.pinned(split: nil)
        let test = try EmojiDataset.pinned(split: .test)
        XCTAssertEqual(all.classNames, test.classNames)
        func entry(_ stem: String, _ style: EmojiDataset.Style) throws -> EmojiDataset.Entry {
            let key = EmojiSequence(fileStem: stem)!.matchKey
            return try XCTUnwrap(all.entries.first { $0.sequence.matchKey == key && $0.style == style }, stem)
        }
        for style in [EmojiDataset.Style.emojione, .twemoji] {
            XCTAssertEqual(try entry("2764", style).captions, ["red heart", "heavy black heart"])
            XCTAssertEqual(try entry("1f44d-1f3fd", style).captions.first, "thumbs up, medium skin tone")
            XCTAssertEqual(try entry("1f1eb-1f1f7", style).category, "Flags")
        }
        var byKey: [String: [String]] = [:]
        for e in all.entries {
            XCTAssertTrue((1...3).contains(e.captions.count), "\(e.sequence): \(e.captions)")
            XCTAssertEqual(Set(e.captions).count, e.captions.count, "\(e.sequence): \(e.captions)")
            if let other = byKey[e.sequence.matchKey] { XCTAssertEqual(other, e.captions, "\(e.sequence)") }
            byKey[e.sequence.matchKey] = e.captions
        }
        // The only images without a group: Twemoji's single code points newer than Emoji 15.0.
        let unknown = all.entries.filter { $0.category == EmojiCategories.unknown }
        for e in unknown {
            XCTAssertEqual(e.style, .twemoji)
            XCTAssertEqual(e.sequence.scalars.count, 1, "\(e.sequence)")
            XCTAssertGreaterThan(e.sequence.scalars[0], 0x1F6D7)
        }
        XCTAssertLessThan(unknown.count, 20)
        print("emoji without a group: \(unknown.map { "\($0.sequence) \($0.captions[0])" })")
        let unnamedImages = all.entries.filter { all.unnamed.contains($0.sequence.matchKey) }
        XCTAssertTrue(unnamedImages.allSatisfy { $0.style == .twemoji })  // every EmojiOne emoji has a standard name
        XCTAssertLessThan(unnamedImages.count, 250)
        print("emoji the standard does not name: \(all.unnamed.count) (\(unnamedImages.count) images): \(all.unnamed)")
        for split in [IDXDataset.Split.train, .test] {
            let rows = all.entries.filter { EmojiDataset.split(of: $0.sequence) == split }
            let counts = Dictionary(grouping: rows, by: \.category).mapValues(\.count)
            print("\(split.rawValue) images per group: \(all.classNames.map { "\($0) \(counts[$0] ?? 0)" }.joined(separator: ", "))")
        }
    }
}
