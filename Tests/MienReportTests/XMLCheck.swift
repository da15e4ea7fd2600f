import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Parses `text` as XML (Foundation's XMLParser, libxml2 underneath): well-formedness, and
/// the ids of elements by name.
final class XMLCheck: NSObject, XMLParserDelegate {
    private(set) var elements: [(name: String, id: String?)] = []
    private(set) var text = ""
    private(set) var error: Error?

    static func parse(_ xml: String) -> XMLCheck {
        let check = XMLCheck()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = check
        if !parser.parse() { check.error = parser.parserError ?? NSError(domain: "XMLCheck", code: 1) }
        return check
    }

    var wellFormed: Bool { error == nil }

    func ids(of name: String) -> [String] { elements.filter { $0.name == name }.compactMap(\.id) }
    func count(_ name: String) -> Int { elements.filter { $0.name == name }.count }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?,
                attributes attributeDict: [String: String] = [:]) {
        elements.append((elementName, attributeDict["id"]))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
}
