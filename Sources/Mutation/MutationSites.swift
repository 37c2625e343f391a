import SwiftSyntax

/// One place a mutant can go, in a file's UTF-8 offsets: found by `SiteFinder`, written out by
/// `SchemataRenderer`.
struct MutationSite {
    enum Change {
        /// The expression at `range` becomes `parts` (source ranges and new text).
        case replace([Part])
        /// The statement at `range` is not executed.
        case drop
        /// The two statements (together `range`) run in the other order.
        case swap(first: Range<Int>, second: Range<Int>)
        /// `return` inserted at `range.lowerBound` (an empty range).
        case insertReturn
    }

    enum Part {
        case text(String)
        case source(Range<Int>)
    }

    var mutationOperator: MutationOperator
    var range: Range<Int>
    var change: Change
    var function: String

    /// Ties between sites with the same range: statements wrap conditions, conditions wrap
    /// the comparisons inside them.
    var rank: Int {
        switch change {
        case .swap: 0
        case .drop: 1
        case .insertReturn: 2
        case .replace: mutationOperator == .conditionTrue || mutationOperator == .conditionFalse || mutationOperator == .dropGuard ? 3 : 4
        }
    }
}

/// Walks a folded syntax tree and lists every mutation site of the chosen operators. Skips
/// what a mutant there would only make noise in: initializers (definite initialization),
/// string literals, `description`, the arguments of `precondition` and its kin, the
/// comparators of sorts and extrema, and notes (`.observe(.note(...))`, a trace's log lines).
final class SiteFinder: SyntaxVisitor {
    let operators: Set<MutationOperator>
    /// The name of a handler's effects parameter: `effects.append(...)` is an effect, a call
    /// taking `&effects` is a handler step.
    let effectsName: String
    private(set) var sites: [MutationSite] = []
    private var scope: [String] = []
    /// Names declared without a value (`let reply: Reply`): dropping the assignment that
    /// initializes one would not compile.
    private var uninitialized: Set<String> = []

    init(operators: Set<MutationOperator>, effectsName: String) {
        self.operators = operators
        self.effectsName = effectsName
        super.init(viewMode: .sourceAccurate)
    }

    private var function: String { scope.isEmpty ? "(file)" : scope.joined(separator: ".") }

    private func add(_ op: MutationOperator, _ range: Range<Int>, _ change: MutationSite.Change) {
        guard operators.contains(op), !scope.isEmpty else { return }
        sites.append(MutationSite(mutationOperator: op, range: range, change: change, function: function))
    }

    // MARK: scopes

    override func visit(_ node: StructDeclSyntax) -> SyntaxVisitorContinueKind { scope.append(node.name.text); return .visitChildren }
    override func visitPost(_ node: StructDeclSyntax) { scope.removeLast() }
    override func visit(_ node: ClassDeclSyntax) -> SyntaxVisitorContinueKind { scope.append(node.name.text); return .visitChildren }
    override func visitPost(_ node: ClassDeclSyntax) { scope.removeLast() }
    override func visit(_ node: EnumDeclSyntax) -> SyntaxVisitorContinueKind { scope.append(node.name.text); return .visitChildren }
    override func visitPost(_ node: EnumDeclSyntax) { scope.removeLast() }
    override func visit(_ node: ActorDeclSyntax) -> SyntaxVisitorContinueKind { scope.append(node.name.text); return .visitChildren }
    override func visitPost(_ node: ActorDeclSyntax) { scope.removeLast() }
    override func visit(_ node: ExtensionDeclSyntax) -> SyntaxVisitorContinueKind {
        scope.append(node.extendedType.trimmedDescription)
        return .visitChildren
    }
    override func visitPost(_ node: ExtensionDeclSyntax) { scope.removeLast() }

    override func visit(_ node: FunctionDeclSyntax) -> SyntaxVisitorContinueKind {
        scope.append(node.name.text)
        if node.signature.returnClause == nil, let body = node.body, !body.statements.isEmpty,
            node.signature.parameterClause.parameters.contains(where: { isEffectsParameter($0) })
        {
            let at = body.leftBrace.endPositionBeforeTrailingTrivia.utf8Offset
            add(.earlyReturn, at..<at, .insertReturn)
        }
        return .visitChildren
    }
    override func visitPost(_ node: FunctionDeclSyntax) { scope.removeLast() }

    private func isEffectsParameter(_ parameter: FunctionParameterSyntax) -> Bool {
        let name = (parameter.secondName ?? parameter.firstName).text
        return name == effectsName && parameter.type.trimmedDescription.hasPrefix("inout")
    }

    /// A computed property is a scope of its own; `description` and its kin are skipped.
    override func visit(_ node: VariableDeclSyntax) -> SyntaxVisitorContinueKind {
        let names = node.bindings.compactMap { $0.pattern.as(IdentifierPatternSyntax.self)?.identifier.text }
        if names.contains(where: { $0 == "description" || $0 == "debugDescription" }) { return .skipChildren }
        if isComputed(node) { scope.append(names.first ?? "var") }
        return .visitChildren
    }
    override func visitPost(_ node: VariableDeclSyntax) {
        let names = node.bindings.compactMap { $0.pattern.as(IdentifierPatternSyntax.self)?.identifier.text }
        if !names.contains(where: { $0 == "description" || $0 == "debugDescription" }), isComputed(node) { scope.removeLast() }
    }
    private func isComputed(_ node: VariableDeclSyntax) -> Bool { node.bindings.contains { $0.accessorBlock != nil } }

    override func visit(_ node: InitializerDeclSyntax) -> SyntaxVisitorContinueKind { .skipChildren }
    override func visit(_ node: DeinitializerDeclSyntax) -> SyntaxVisitorContinueKind { .skipChildren }
    override func visit(_ node: StringLiteralExprSyntax) -> SyntaxVisitorContinueKind { .skipChildren }
    override func visit(_ node: WhileStmtSyntax) -> SyntaxVisitorContinueKind { .skipChildren }
    override func visit(_ node: RepeatStmtSyntax) -> SyntaxVisitorContinueKind { .skipChildren }

    private static let skippedCalls: Set<String> = [
        "precondition", "preconditionFailure", "assert", "assertionFailure", "fatalError", "print",
        "sorted", "sort", "min", "max", "allSatisfy",
    ]

    override func visit(_ node: FunctionCallExprSyntax) -> SyntaxVisitorContinueKind {
        Self.skippedCalls.contains(calledName(node)) ? .skipChildren : .visitChildren
    }

    private func calledName(_ call: FunctionCallExprSyntax) -> String {
        if let reference = call.calledExpression.as(DeclReferenceExprSyntax.self) { return reference.baseName.text }
        if let member = call.calledExpression.as(MemberAccessExprSyntax.self) { return member.declName.baseName.text }
        return ""
    }

    // MARK: expressions

    override func visit(_ node: InfixOperatorExprSyntax) -> SyntaxVisitorContinueKind {
        guard let op = node.operator.as(BinaryOperatorExprSyntax.self)?.operator.text else { return .visitChildren }
        let whole = range(of: node)
        let left = range(of: node.leftOperand)
        let right = range(of: node.rightOperand)
        let flipped = ["<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "=="]
        if let other = flipped[op] {
            let kind: MutationOperator = op == "==" || op == "!=" ? .negateEquality : .relaxComparison
            add(kind, whole, .replace([.source(left), .text(" \(other) "), .source(right)]))
            if kind == .relaxComparison {
                for operand in [node.leftOperand, node.rightOperand] where operand.is(IntegerLiteralExprSyntax.self) {
                    add(.offByOne, range(of: operand), .replace([.source(range(of: operand)), .text(" + 1")]))
                }
            }
        }
        if op == "+" || op == "-", node.rightOperand.as(IntegerLiteralExprSyntax.self)?.literal.text == "1" {
            add(.reuseOld, whole, .replace([.source(left)]))
        }
        return .visitChildren
    }

    // MARK: conditions

    override func visit(_ node: IfExprSyntax) -> SyntaxVisitorContinueKind {
        for element in node.conditions {
            guard case .expression(let condition) = element.condition else { continue }
            add(.conditionTrue, range(of: condition), .replace([.text("true")]))
            add(.conditionFalse, range(of: condition), .replace([.text("false")]))
        }
        return .visitChildren
    }

    override func visit(_ node: GuardStmtSyntax) -> SyntaxVisitorContinueKind {
        for element in node.conditions {
            guard case .expression(let condition) = element.condition else { continue }
            add(.dropGuard, range(of: condition), .replace([.text("true")]))
        }
        return .visitChildren
    }

    // MARK: statements

    override func visit(_ node: CodeBlockItemListSyntax) -> SyntaxVisitorContinueKind {
        var previousEffect: Range<Int>?
        for item in node {
            guard case .expr(let expression) = item.item else {
                if case .decl(let declaration) = item.item, let variable = declaration.as(VariableDeclSyntax.self) {
                    for binding in variable.bindings where binding.initializer == nil && binding.accessorBlock == nil {
                        if let name = binding.pattern.as(IdentifierPatternSyntax.self)?.identifier.text { uninitialized.insert(name) }
                    }
                }
                previousEffect = nil
                continue
            }
            let statement = range(of: item)
            if let call = expression.as(FunctionCallExprSyntax.self), isEffectAppend(call), isNote(call) {
                // A note is for readers of the trace, like a log line: no checker judges it.
                previousEffect = nil
                continue
            }
            if let call = expression.as(FunctionCallExprSyntax.self), isEffectAppend(call) {
                add(.dropEffect, statement, .drop)
                if let first = previousEffect {
                    add(.swapEffects, first.lowerBound..<statement.upperBound, .swap(first: first, second: statement))
                    previousEffect = nil  // pairs do not overlap: (1,2), (3,4), ...
                } else {
                    previousEffect = statement
                }
                continue
            }
            previousEffect = nil
            if let call = expression.as(FunctionCallExprSyntax.self), passesEffects(call) {
                add(.dropCall, statement, .drop)
            } else if let infix = expression.as(InfixOperatorExprSyntax.self), isStateAssignment(infix) {
                add(.dropAssignment, statement, .drop)
            }
        }
        return .visitChildren
    }

    private func isEffectAppend(_ call: FunctionCallExprSyntax) -> Bool {
        guard let member = call.calledExpression.as(MemberAccessExprSyntax.self), member.declName.baseName.text == "append" else { return false }
        return member.base?.as(DeclReferenceExprSyntax.self)?.baseName.text == effectsName
    }

    private func isNote(_ call: FunctionCallExprSyntax) -> Bool {
        call.arguments.first?.expression.trimmedDescription.hasPrefix(".observe(.note(") ?? false
    }

    private func passesEffects(_ call: FunctionCallExprSyntax) -> Bool {
        call.arguments.contains { argument in
            argument.expression.as(InOutExprSyntax.self)?.expression.as(DeclReferenceExprSyntax.self)?.baseName.text == effectsName
        }
    }

    private func isStateAssignment(_ infix: InfixOperatorExprSyntax) -> Bool {
        let isAssignment =
            infix.operator.is(AssignmentExprSyntax.self)
            || ["+=", "-="].contains(infix.operator.as(BinaryOperatorExprSyntax.self)?.operator.text ?? "")
        guard isAssignment else { return false }
        if let name = infix.leftOperand.as(DeclReferenceExprSyntax.self)?.baseName.text, uninitialized.contains(name) { return false }
        return !infix.leftOperand.is(DiscardAssignmentExprSyntax.self)
    }

    private func range(of node: some SyntaxProtocol) -> Range<Int> {
        node.positionAfterSkippingLeadingTrivia.utf8Offset..<node.endPositionBeforeTrailingTrivia.utf8Offset
    }
}
