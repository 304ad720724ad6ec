-- No configure: master gets the raw words, numbers converted.
function master(a, b, c, d)
    print(("ARGS %s:%s %s:%s %s:%s %s"):format(type(a), tostring(a), type(b), tostring(b),
        type(c), tostring(c), tostring(d)))
end
