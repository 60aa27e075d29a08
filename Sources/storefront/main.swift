import GRPCNIOTransportHTTP2
import ServiceLifecycle
import ArgumentParser
print("hi")
